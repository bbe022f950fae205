/**
 * The verdict store port and the pure rules every implementation shares (see port.ts). ../ports.ts
 * will re-export the port; the implementations live in lib/local/verdict-store and
 * lib/aws/verdict-store.ts.
 */
export type {
  PutVerdictResult,
  SeverityCounts,
  StoredInventory,
  StoredVerdict,
  StoredVerdictReason,
  VerdictEvaluation,
  VerdictHistoryOptions,
  VerdictStore,
} from './port';
export {
  checkEvaluation,
  checkHistoryLimit,
  compareEvaluations,
  countBySeverity,
  decideWrite,
  evaluationKey,
  instantNanos,
  isNewer,
  parseStoredVerdict,
  withRevision,
  type EvaluationKey,
  type WriteDecision,
} from './order';
export { advisoryPackageKeys, inventoryPackageKeys, packageKey } from './keys';
export { MAX_INVENTORY_JSON_BYTES, checkInventory, decodeInventory, encodeInventory } from './codec';
export { InvalidVerdictError, VerdictStoreCorruptError } from './errors';
export { MemoryVerdictStore } from './memory-store';
