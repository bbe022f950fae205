/**
 * The embedded verdict store of `trustctl` (the engine's VerdictStore port on a laptop): see store.ts
 * for the design and on-disk format.
 */
export { EmbeddedVerdictStore, VERDICT_LOCK_FILE, VERDICT_PACKAGE_LOG, defaultVerdictDir } from './store';
export type { EmbeddedVerdictStoreOptions } from './store';
export { VerdictStoreLockedError } from './errors';
