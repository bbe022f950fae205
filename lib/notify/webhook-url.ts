/**
 * Where the Slack incoming-webhook URL comes from (DESIGN.md "Promises": Slack URLs come from
 * Secrets Manager / env, never logged): the environment on a laptop, AWS Secrets Manager in the
 * pipeline. The URL is a bearer credential — whoever has it can post to the channel — so it is held
 * in private fields (JSON.stringify and util.inspect do not show them), and no error, log line or
 * `description` ever contains it or any part of it.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isLoopbackHost } from '../engine/registry/http';
import { SlackWebhookConfigError } from './errors';

/** The environment variable that holds the webhook URL itself (local use). */
export const WEBHOOK_URL_ENV = 'TRUSTCTL_SLACK_WEBHOOK_URL';
/** The environment variable that names the Secrets Manager secret holding it (the pipeline's Lambdas). */
export const WEBHOOK_SECRET_ENV = 'TRUSTCTL_SLACK_WEBHOOK_SECRET_ID';

/** Validation options of {@link validateWebhookUrl}. */
export interface WebhookUrlOptions {
  /**
   * Accept `http://` to a loopback host (127.0.0.0/8, `localhost`, `::1`): the tests' local Slack
   * server. Never set in production: a webhook URL over plain HTTP is readable by anyone on the path.
   */
  readonly allowInsecureLoopback?: boolean;
}

/**
 * Parses and checks a webhook URL: `https://` (or loopback `http://` with
 * {@link WebhookUrlOptions.allowInsecureLoopback}), no user info. Throws
 * {@link SlackWebhookConfigError} whose message never quotes the input — the invalid value may still
 * be the real secret with a typo — and which has no `cause` (URL's TypeError quotes the input).
 */
export function validateWebhookUrl(raw: string, options: WebhookUrlOptions = {}): URL {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new SlackWebhookConfigError('the Slack webhook URL is not a valid URL');
  }
  if (u.protocol === 'http:') {
    if (!options.allowInsecureLoopback || !isLoopbackHost(u.hostname)) {
      throw new SlackWebhookConfigError('the Slack webhook URL must use https:// (http:// is allowed for loopback test servers only, with allowInsecureLoopback)');
    }
  } else if (u.protocol !== 'https:') {
    throw new SlackWebhookConfigError(`the Slack webhook URL must use https:// (got scheme ${JSON.stringify(u.protocol.slice(0, 16))})`);
  }
  if (u.username || u.password) throw new SlackWebhookConfigError('the Slack webhook URL must not carry user info');
  return u;
}

/** Somewhere to get the webhook URL from. */
export interface WebhookUrlSource {
  /** The URL to post to; throws {@link SlackWebhookConfigError} when there is none or it is invalid. */
  url(): Promise<URL>;
  /**
   * Forgets a cached URL: Slack answered 403/404/410, so the webhook may have been rotated or revoked
   * and the next call should read the source again.
   */
  invalidate(): void;
  /** Where the URL comes from (`env TRUSTCTL_SLACK_WEBHOOK_URL`, `secret <id>`), safe for logs: never the URL. */
  readonly description: string;
}

/** A fixed URL (tests, or a caller that read it elsewhere), validated once. */
export class StaticWebhookUrl implements WebhookUrlSource {
  readonly #url: URL;
  readonly description = 'static configuration';

  constructor(raw: string | URL, options: WebhookUrlOptions = {}) {
    this.#url = validateWebhookUrl(String(raw), options);
  }

  /** The URL (a copy: callers cannot change the source). */
  async url(): Promise<URL> {
    return new URL(this.#url.href);
  }

  /** Nothing to forget. */
  invalidate(): void {}
}

/** Options of {@link EnvWebhookUrl}. */
export interface EnvWebhookUrlOptions extends WebhookUrlOptions {
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default {@link WEBHOOK_URL_ENV}. */
  readonly variable?: string;
}

/** The URL from an environment variable, read on every call (cheap; a changed environment is seen). */
export class EnvWebhookUrl implements WebhookUrlSource {
  readonly #env: NodeJS.ProcessEnv;
  readonly #variable: string;
  readonly #options: WebhookUrlOptions;
  readonly description: string;

  constructor(options: EnvWebhookUrlOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#variable = options.variable ?? WEBHOOK_URL_ENV;
    this.#options = { allowInsecureLoopback: options.allowInsecureLoopback };
    this.description = `env ${this.#variable}`;
  }

  /** The validated URL; throws when the variable is unset or empty. */
  async url(): Promise<URL> {
    const raw = this.#env[this.#variable];
    if (raw === undefined || raw.trim() === '') throw new SlackWebhookConfigError(`${this.#variable} is not set`);
    return validateWebhookUrl(raw, this.#options);
  }

  /** Nothing cached. */
  invalidate(): void {}
}

/**
 * The URL in a secret's `SecretString`: the bare URL, or a JSON object with `url` or `webhookUrl`
 * (the two shapes teams store). Throws {@link SlackWebhookConfigError} without quoting the secret.
 */
export function parseWebhookSecret(secretString: string): string {
  const s = secretString.trim();
  if (!s.startsWith('{')) return s;
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch {
    throw new SlackWebhookConfigError('the Slack webhook secret starts with "{" but is not valid JSON');
  }
  const o = doc as Record<string, unknown>;
  for (const k of ['url', 'webhookUrl']) {
    if (typeof o[k] === 'string') return o[k] as string;
  }
  throw new SlackWebhookConfigError('the Slack webhook secret is JSON without a string "url" or "webhookUrl"');
}

/** Options of {@link SecretsManagerWebhookUrl}. */
export interface SecretsManagerWebhookUrlOptions extends WebhookUrlOptions {
  /** Secret name or ARN. */
  readonly secretId: string;
  /** Default: a client for the environment's region and credentials, made on first use. */
  readonly client?: SecretsManagerClient;
  /** How long a read URL is reused. Default 5 minutes: rotation is seen soon, Secrets Manager is called rarely. */
  readonly ttlMs?: number;
  /** Default `AWSCURRENT`. */
  readonly versionStage?: string;
  readonly now?: () => number;
}

/**
 * The URL from AWS Secrets Manager (`GetSecretValue`, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html),
 * cached in memory for `ttlMs`; concurrent callers share one call; a failed call is not cached.
 */
export class SecretsManagerWebhookUrl implements WebhookUrlSource {
  #cached?: { readonly url: URL; readonly until: number };
  #inflight?: Promise<URL>;
  #client?: SecretsManagerClient;
  readonly #opts: SecretsManagerWebhookUrlOptions;
  readonly #now: () => number;
  readonly description: string;

  constructor(options: SecretsManagerWebhookUrlOptions) {
    this.#opts = options;
    this.#client = options.client;
    this.#now = options.now ?? Date.now;
    this.description = `secret ${options.secretId}`;
  }

  /** The cached URL, or the secret read again. */
  async url(): Promise<URL> {
    const hit = this.#cached;
    if (hit && hit.until > this.#now()) return new URL(hit.url.href);
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined;
    });
    return new URL((await this.#inflight).href);
  }

  /** Drops the cached URL. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #read(): Promise<URL> {
    this.#client ??= new SecretsManagerClient({});
    let out;
    try {
      out = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#opts.secretId, VersionStage: this.#opts.versionStage ?? 'AWSCURRENT' }));
    } catch (err) {
      throw new SlackWebhookConfigError(`cannot read the Slack webhook secret ${this.#opts.secretId}`, { cause: err });
    }
    if (typeof out.SecretString !== 'string') {
      throw new SlackWebhookConfigError(`the Slack webhook secret ${this.#opts.secretId} has no SecretString (a binary secret cannot hold the URL)`);
    }
    const url = validateWebhookUrl(parseWebhookSecret(out.SecretString), this.#opts);
    this.#cached = { url, until: this.#now() + (this.#opts.ttlMs ?? 5 * 60_000) };
    return url;
  }
}

/**
 * The source the environment configures: {@link WEBHOOK_URL_ENV} (the URL itself) wins, else
 * {@link WEBHOOK_SECRET_ENV} (a secret id); `undefined` when neither is set — notifications off.
 */
export function webhookUrlSourceFromEnv(env: NodeJS.ProcessEnv = process.env, options: WebhookUrlOptions & { readonly client?: SecretsManagerClient } = {}): WebhookUrlSource | undefined {
  if (env[WEBHOOK_URL_ENV]?.trim()) return new EnvWebhookUrl({ env, allowInsecureLoopback: options.allowInsecureLoopback });
  const secretId = env[WEBHOOK_SECRET_ENV]?.trim();
  if (secretId) return new SecretsManagerWebhookUrl({ secretId, client: options.client, allowInsecureLoopback: options.allowInsecureLoopback });
  return undefined;
}
