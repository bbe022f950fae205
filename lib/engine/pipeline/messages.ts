/**
 * What arrives on the pipeline's queues, parsed strictly (RELIABILITY.md 23: every digest, repository
 * and tag is checked against its pattern before it becomes part of a URL or a key):
 *
 * - the scan queue carries EventBridge "ECR Image Action", "ECR Pull Through Cache Action" and "ECR
 *   Replication Action" events as the rule delivers them (each is an image that arrived in a
 *   repository: a push, a pull through cache sync, a replica) — the
 *   envelope (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`, `detail`) as the
 *   SQS message body (shape: ../shared/corpus/events/aws/awsdocs-ecr__ecr-image-action-push.json and
 *   the COMPOSED SQS-wrapped one);
 * - the rescan queue carries {@link RescanMessage}s written by feed-sync and nightly.
 *
 * One worker may consume both queues, so {@link parseQueueMessage} tells them apart by shape.
 */
import { isDigest, isRepository, isTag, type Digest } from '../model';
import { instantNanos } from '../verdicts/order';
import { InvalidPipelineMessageError } from './errors';

/** A successful push to an ECR repository, as the pipeline needs it. */
export interface EcrPush {
  readonly kind: 'push';
  /** `<account>.dkr.ecr.<region>.amazonaws.com` (`.amazonaws.com.cn` in the China regions). */
  readonly registry: string;
  readonly repository: string;
  readonly digest: Digest;
  /** The tag pushed, when the push named one (a push by digest has none). */
  readonly tag?: string;
  /** The event's `time` (RFC 3339): when ECR saw the push. */
  readonly time?: string;
  /** The EventBridge event id, for logs. */
  readonly eventId?: string;
  /** How the image arrived when it was not pushed: a pull through cache sync or a replication (for logs). */
  readonly via?: 'pull-through-cache' | 'replication';
}

/** An EventBridge event the scan queue may carry but the pipeline does not act on (a DELETE, a failed push, an ECR scan event). */
export interface IgnoredEvent {
  readonly kind: 'ignored';
  readonly reason: string;
  readonly eventId?: string;
}

/**
 * Re-evaluate one digest from its stored inventory (feed-sync's targeted rescans and the nightly run).
 * `at` is when the request was made: any evaluation at or after it, with the current policy and
 * plug-ins, satisfies it, so a duplicate delivery does nothing.
 */
export interface ReevaluateMessage {
  readonly kind: 'reevaluate';
  readonly digest: Digest;
  readonly at?: string;
  /** Why it was asked for (`feed-change`, `nightly`), for logs. */
  readonly reason?: string;
}

/** Scan a digest that has no verdict yet (the nightly registry sweep: a push event that never arrived, RELIABILITY.md 32). */
export interface ScanMessage {
  readonly kind: 'scan';
  readonly registry: string;
  readonly repository: string;
  readonly digest: Digest;
  readonly at?: string;
  readonly reason?: string;
}

/** A message of the rescan queue. */
export type RescanMessage = ReevaluateMessage | ScanMessage;

/** Anything one of the pipeline's queues carries. */
export type QueueMessage = EcrPush | IgnoredEvent | RescanMessage;

/** distribution/reference's domain grammar with an optional port (lib/engine/model/image-ref.ts). */
const REGISTRY = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]{1,5})?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const MAX_BODY_CHARS = 256 * 1024;

const fail = (message: string, cause?: unknown): never => {
  throw new InvalidPipelineMessageError(message, cause === undefined ? undefined : { cause });
};

const quote = (v: unknown): string => JSON.stringify(typeof v === 'string' ? v.slice(0, 200) : v === undefined ? 'undefined' : String(v).slice(0, 200));

function asObject(input: unknown, what: string): Record<string, unknown> {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_BODY_CHARS) fail(`${what}: body of ${input.length} characters is larger than any message the pipeline sends`);
    try {
      value = JSON.parse(input);
    } catch (err) {
      fail(`${what}: not JSON`, err);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what}: not a JSON object`);
  return value as Record<string, unknown>;
}

/** An RFC 3339 timestamp or undefined; anything else is refused (it orders evaluations). */
function optionalTime(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') return fail(`${what}: not a string`);
  try {
    instantNanos(v);
  } catch (err) {
    fail(`${what}: ${quote(v)} is not an RFC 3339 timestamp`, err);
  }
  return v;
}

function digestField(v: unknown, what: string): Digest {
  if (!isDigest(v)) fail(`${what}: ${quote(v)} is not a sha256/sha512 digest`);
  return v as Digest;
}

function repositoryField(v: unknown, what: string): string {
  if (typeof v !== 'string' || !isRepository(v)) fail(`${what}: ${quote(v)} is not a repository name`);
  return v as string;
}

function registryField(v: unknown, what: string): string {
  if (typeof v !== 'string' || !REGISTRY.test(v)) fail(`${what}: ${quote(v)} is not a registry host`);
  return v as string;
}

/** The ECR registry host of an account in a region (China regions use `amazonaws.com.cn`). */
export function ecrRegistryHost(account: string, region: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/**
 * Parses an EventBridge event from ECR (the object, or its JSON text as an SQS body). A successful
 * PUSH, pull through cache sync or replication becomes an {@link EcrPush} (AWS's samples:
 * test/fixtures/ecr-events/); other ECR events (DELETE, a failed push or sync, scan results) are
 * {@link IgnoredEvent}s. Throws {@link InvalidPipelineMessageError} for anything else, and for a push
 * whose account, region, repository, digest or tag is malformed.
 */
export function parseEcrEvent(input: unknown): EcrPush | IgnoredEvent {
  const e = asObject(input, 'EventBridge event');
  const eventId = typeof e.id === 'string' ? e.id.slice(0, 128) : undefined;
  const ignored = (reason: string): IgnoredEvent => ({ kind: 'ignored', reason, ...(eventId ? { eventId } : {}) });
  if (e.source !== 'aws.ecr') fail(`EventBridge event: source ${quote(e.source)} is not aws.ecr`);
  const type = e['detail-type'];
  let what: string;
  let via: EcrPush['via'];
  if (type === 'ECR Image Action') {
    const d = asObject(e.detail, 'ECR Image Action detail');
    if (d['action-type'] !== 'PUSH') return ignored(`action-type ${quote(d['action-type'])} is not PUSH`);
    if (d.result !== 'SUCCESS') return ignored(`push result ${quote(d.result)} is not SUCCESS`);
    what = 'ECR push';
  } else if (type === 'ECR Pull Through Cache Action') {
    // The cache repository now holds the upstream image (sync-status SUCCESS); a failed sync holds nothing new.
    const d = asObject(e.detail, 'ECR Pull Through Cache Action detail');
    if (d['sync-status'] !== 'SUCCESS') return ignored(`pull through cache sync-status ${quote(d['sync-status'])} is not SUCCESS`);
    what = 'ECR pull through cache';
    via = 'pull-through-cache';
  } else if (type === 'ECR Replication Action') {
    // Delivered in the destination's account and region: the replica is what a node there pulls.
    const d = asObject(e.detail, 'ECR Replication Action detail');
    if (d['action-type'] !== 'REPLICATE') return ignored(`replication action-type ${quote(d['action-type'])} is not REPLICATE`);
    if (d.result !== 'SUCCESS') return ignored(`replication result ${quote(d.result)} is not SUCCESS`);
    what = 'ECR replication';
    via = 'replication';
  } else {
    return ignored(`detail-type ${quote(type)} is not acted on`);
  }
  const d = e.detail as Record<string, unknown>;
  if (typeof e.account !== 'string' || !ACCOUNT.test(e.account)) fail(`${what}: account ${quote(e.account)} is not a 12-digit account id`);
  if (typeof e.region !== 'string' || !REGION.test(e.region)) fail(`${what}: region ${quote(e.region)} is not an AWS region`);
  const repository = repositoryField(d['repository-name'], `${what}: repository-name`);
  const digest = digestField(d['image-digest'], `${what}: image-digest`);
  const rawTag = d['image-tag'];
  let tag: string | undefined;
  if (rawTag !== undefined && rawTag !== null && rawTag !== '') {
    if (typeof rawTag !== 'string' || !isTag(rawTag)) fail(`${what}: image-tag ${quote(rawTag)} is not a tag`);
    tag = rawTag as string;
  }
  // cosign's signature/attestation/SBOM tags (`sha256-<hex>.sig|.att|.sbom`) name artifacts, not images: never scanned alone.
  if (tag !== undefined && isSignatureTag(tag)) return ignored(`tag ${quote(tag)} is a cosign signature/attestation artifact`);
  const time = optionalTime(e.time, `${what}: time`);
  return {
    kind: 'push',
    registry: ecrRegistryHost(e.account as string, e.region as string),
    repository,
    digest,
    ...(tag ? { tag } : {}),
    ...(time ? { time } : {}),
    ...(eventId ? { eventId } : {}),
    ...(via ? { via } : {}),
  };
}

/**
 * True for the tags cosign gives the artifacts it attaches to an image (`sha256-<hex>.sig`, `.att`,
 * `.sbom`; sigstore/cosign "Signature Specification" tag scheme): they are signatures, in-toto
 * attestations and SBOMs, not runnable images, and scanned alone would only be quarantined.
 */
export function isSignatureTag(tag: string): boolean {
  return /^sha(?:256-[0-9a-f]{64}|512-[0-9a-f]{128})\.(?:sig|att|sbom)$/.test(tag);
}

/** Parses a rescan-queue message; throws {@link InvalidPipelineMessageError} for anything that is not one. */
export function parseRescanMessage(input: unknown): RescanMessage {
  const m = asObject(input, 'rescan message');
  const at = optionalTime(m.at, `${String(m.kind)} message: at`);
  const reason = typeof m.reason === 'string' ? m.reason.slice(0, 64) : undefined;
  const extra = { ...(at ? { at } : {}), ...(reason ? { reason } : {}) };
  if (m.kind === 'reevaluate') return { kind: 'reevaluate', digest: digestField(m.digest, 'reevaluate message: digest'), ...extra };
  if (m.kind === 'scan') {
    return {
      kind: 'scan',
      registry: registryField(m.registry, 'scan message: registry'),
      repository: repositoryField(m.repository, 'scan message: repository'),
      digest: digestField(m.digest, 'scan message: digest'),
      ...extra,
    };
  }
  return fail(`rescan message: kind ${quote(m.kind)} is neither reevaluate nor scan`);
}

/** The JSON body of a rescan message (only the fields {@link parseRescanMessage} reads). */
export function encodeRescanMessage(m: RescanMessage): string {
  return m.kind === 'reevaluate'
    ? JSON.stringify({ kind: m.kind, digest: m.digest, ...(m.at ? { at: m.at } : {}), ...(m.reason ? { reason: m.reason } : {}) })
    : JSON.stringify({ kind: m.kind, registry: m.registry, repository: m.repository, digest: m.digest, ...(m.at ? { at: m.at } : {}), ...(m.reason ? { reason: m.reason } : {}) });
}

/**
 * Any message of the pipeline's queues, told apart by shape: an EventBridge envelope (`detail-type`)
 * is an ECR event, a `kind` is a rescan message. Throws {@link InvalidPipelineMessageError} otherwise.
 */
export function parseQueueMessage(body: unknown): QueueMessage {
  const o = asObject(body, 'queue message');
  if ('detail-type' in o) return parseEcrEvent(o);
  if ('kind' in o) return parseRescanMessage(o);
  return fail('queue message: neither an EventBridge event (detail-type) nor a rescan message (kind)');
}
