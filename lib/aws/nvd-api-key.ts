/**
 * Where the NVD API key comes from (issue 14; https://nvd.nist.gov/developers/request-an-api-key): the
 * environment (`NVD_API_KEY`, for the CLI) or AWS Secrets Manager (`NVD_API_KEY_SECRET_ID`, a secret name
 * or ARN, for the pipeline: the key never sits in a Lambda's environment). The key is sent by the NVD
 * client (lib/engine/advisories/nvd-api.ts) in the `apiKey` header only.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TrustError } from '../engine/errors';

/** The environment variable holding the key itself. */
export const NVD_API_KEY_ENV = 'NVD_API_KEY';
/** The environment variable naming the Secrets Manager secret that holds the key. */
export const NVD_API_KEY_SECRET_ENV = 'NVD_API_KEY_SECRET_ID';

/** The NVD API key could not be read or is not usable. */
export class NvdApiKeyError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NVD_API_KEY', message, options);
  }
}

/**
 * The key in a secret's string: the whole string (trimmed), or for a JSON object its `apiKey`,
 * `NVD_API_KEY` or `key` field (Secrets Manager's console stores key/value pairs as JSON).
 */
export function apiKeyOfSecret(secret: string): string {
  const s = secret.trim();
  let key = s;
  if (s.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(s);
    } catch {
      throw new NvdApiKeyError('the NVD API key secret starts with "{" but is not valid JSON');
    }
    const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    const field = ['apiKey', 'NVD_API_KEY', 'key'].find((k) => typeof o[k] === 'string');
    if (!field) throw new NvdApiKeyError('the NVD API key secret is JSON without a string "apiKey", "NVD_API_KEY" or "key"');
    key = (o[field] as string).trim();
  }
  // NVD keys are UUIDs; anything that could break a header is refused rather than sent.
  if (key.length === 0 || key.length > 256 || !/^[\x21-\x7e]+$/.test(key)) throw new NvdApiKeyError('the NVD API key secret does not hold a usable key');
  return key;
}

/**
 * How to get the NVD API key under `env`: `NVD_API_KEY` when set, else the secret `NVD_API_KEY_SECRET_ID`
 * names (read once, on first use; a failed read is not cached and fails the NVD sync — a key that was
 * configured is never silently replaced by keyless, slower access), else undefined: no key.
 */
export function nvdApiKeyFromEnv(env: NodeJS.ProcessEnv, client?: SecretsManagerClient): (() => Promise<string | undefined>) | undefined {
  const direct = env[NVD_API_KEY_ENV]?.trim();
  if (direct) return async () => direct;
  const secretId = env[NVD_API_KEY_SECRET_ENV]?.trim();
  if (!secretId) return undefined;
  let cached: string | undefined;
  return async () => {
    if (cached !== undefined) return cached;
    const sm = client ?? new SecretsManagerClient({ maxAttempts: 5 });
    let out;
    try {
      out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (err) {
      throw new NvdApiKeyError(`cannot read the NVD API key secret ${secretId}: ${err instanceof Error ? err.name : String(err)}`, { cause: err });
    }
    if (typeof out.SecretString !== 'string') throw new NvdApiKeyError(`the NVD API key secret ${secretId} has no SecretString`);
    cached = apiKeyOfSecret(out.SecretString);
    return cached;
  };
}
