/**
 * The embedded advisory store of `trustctl` (the engine's AdvisoryStore port on a laptop): see store.ts
 * for the design and on-disk format.
 */
export { ADVISORY_INDEX_FILE, ADVISORY_LOCK_FILE, EmbeddedAdvisoryStore, defaultAdvisoryDir } from './store';
export { INDEX_LAYOUT_VERSION } from './index-file';
export type { EmbeddedAdvisoryStoreOptions, EmbeddedAdvisoryStoreStats } from './store';
export { AdvisoryStoreClosedError, AdvisoryStoreCorruptError, AdvisoryStoreLockedError, AdvisoryStoreReadOnlyError } from './errors';
export { lockHolder, StoreLock } from './lock';
