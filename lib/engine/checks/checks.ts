import { createBaseImageCheck } from './base-image';
import type { BaseImageCatalog } from './base-image/catalog';
import { createMalwareCheck } from './malware';
import type { ClamdClient } from './malware/clamd';
import type { SignatureSet } from './malware/signatures';
import { createMisconfigCheck } from './misconfig';
import { createSecretsFileCheck, createSecretsImageCheck } from './secrets';
import type { Check } from './types';

/** What the checks can be given from the outside (CLI flags, pipeline configuration). */
export interface CheckOptions {
  /** Malware signatures beyond the built-in EICAR (sha256 blocklists, byte-pattern rules). */
  readonly signatures?: SignatureSet;
  /** A running clamd to stream candidate files to. */
  readonly clamd?: ClamdClient;
  /** Setuid/setgid binaries that are expected (default: the usual system ones). */
  readonly setuidAllowList?: readonly string[];
  /** Trusted base images; without it the base-image check does not run. */
  readonly baseImages?: BaseImageCatalog;
}

/**
 * Every check, in one explicit list (DESIGN.md "checks/ … + checks.ts: the explicit list"), each a
 * plug-in with a name and a version: malware and secrets over each layer's files (cached with the
 * layer), secrets in the config and history, misconfiguration, and the base image when trusted bases
 * are configured.
 */
export function allChecks(opts: CheckOptions = {}): Check[] {
  return [
    createMalwareCheck({ ...(opts.signatures ? { signatures: opts.signatures } : {}), ...(opts.clamd ? { clamd: opts.clamd } : {}) }),
    createSecretsFileCheck(),
    createSecretsImageCheck(),
    createMisconfigCheck(opts.setuidAllowList ? { setuidAllowList: opts.setuidAllowList } : {}),
    ...(opts.baseImages ? [createBaseImageCheck(opts.baseImages)] : []),
  ];
}
