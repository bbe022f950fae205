import { AdmissionReviewError } from './errors';

/**
 * The AdmissionReview `admission.k8s.io/v1` wire shapes, as far as the webhook reads and writes them,
 * and the strict parse of an incoming review. Field names and meaning follow the Kubernetes docs,
 * "Dynamic Admission Control" → "Webhook request and response":
 * https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request
 * and the Go types in k8s.io/api/admission/v1/types.go.
 */

/** The only API version the generated configurations register (`admissionReviewVersions: ["v1"]`). */
export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** Group/version/kind of the object under review (`request.kind`, a metav1.GroupVersionKind). */
export interface GroupVersionKind {
  /** `""` for the core group (Pod). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** `request.operation`. CONNECT is only sent for subresources such as `pods/exec`, which we never register. */
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

const OPERATIONS: ReadonlySet<string> = new Set<AdmissionOperation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/** The part of `request` the decision reads. */
export interface AdmissionRequest {
  /** Echoed in the response: the API server matches the answer to its call by it. */
  readonly uid: string;
  /**
   * The kind as registered: with `matchPolicy: Equivalent` the API server converts an object sent as
   * another version (e.g. `batch/v1beta1` CronJob) to the version a rule names before calling.
   */
  readonly kind: GroupVersionKind;
  /** Empty for cluster-scoped objects; Pods and the workload kinds are always namespaced. */
  readonly namespace?: string;
  readonly name?: string;
  readonly operation: AdmissionOperation;
  /** `pods/ephemeralcontainers` arrives as kind Pod with `subResource: "ephemeralcontainers"`. */
  readonly subResource?: string;
  /** The object being admitted; null for DELETE. */
  readonly object?: unknown;
  /** The existing object on UPDATE; null for CREATE and CONNECT. */
  readonly oldObject?: unknown;
  readonly dryRun?: boolean;
}

/** A parsed AdmissionReview request. */
export interface AdmissionReviewRequest {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly request: AdmissionRequest;
}

/** One cause of a denial (metav1.StatusCause): `field` names the image in Kubernetes field-path style. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

/** `response.status` (a metav1.Status) of a denial. */
export interface AdmissionStatus {
  /** HTTP-like code shown to the user; 403 for a policy denial. */
  readonly code: number;
  /** A metav1.StatusReason, `Forbidden` for a policy denial. */
  readonly reason: string;
  /** What kubectl prints after `admission webhook "…" denied the request:`. */
  readonly message: string;
  readonly details?: { readonly causes: readonly StatusCause[] };
}

/** `response` of an AdmissionReview (k8s.io/api/admission/v1 AdmissionResponse). */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: AdmissionStatus;
  /** base64 of a JSON Patch (RFC 6902) document; only from a mutating webhook. */
  readonly patch?: string;
  readonly patchType?: 'JSONPatch';
  /**
   * Shown by kubectl as `Warning: …`. The docs ask for at most 120 characters each where possible;
   * the API server may truncate longer ones (over 256) and large numbers of them.
   */
  readonly warnings?: readonly string[];
}

/** The AdmissionReview the webhook answers with. */
export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AdmissionReviewError(`${what} must be a string`);
  return v;
}

/** Longest `request.uid` we echo (they are UUIDs; the cap keeps a hostile caller from making us echo megabytes). */
const MAX_UID = 256;

/**
 * Parses an AdmissionReview v1 request (a JSON text or an already parsed value). Throws
 * {@link AdmissionReviewError} when it is not one — another apiVersion (`admission.k8s.io/v1beta1`
 * is never registered by our configurations), no `request`, no `request.uid`, a `request.kind`
 * without `kind`, an unknown `operation`. What is inside `request.object` is not judged here: that is
 * the decision's job, which denies what it cannot read instead of failing the call.
 */
export function parseAdmissionReview(input: unknown): AdmissionReviewRequest {
  let doc = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      doc = JSON.parse(input.toString());
    } catch (err) {
      throw new AdmissionReviewError(`request body is not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!isObject(doc)) throw new AdmissionReviewError('request body is not a JSON object');
  if (doc.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionReviewError(`apiVersion must be ${ADMISSION_API_VERSION}, got ${JSON.stringify(doc.apiVersion ?? null).slice(0, 80)}`);
  }
  if (doc.kind !== 'AdmissionReview') throw new AdmissionReviewError(`kind must be AdmissionReview, got ${JSON.stringify(doc.kind ?? null).slice(0, 80)}`);
  const req = doc.request;
  if (!isObject(req)) throw new AdmissionReviewError('request is missing');
  if (typeof req.uid !== 'string' || req.uid.length === 0 || req.uid.length > MAX_UID) throw new AdmissionReviewError('request.uid must be a non-empty string');
  const k = req.kind;
  if (!isObject(k) || typeof k.kind !== 'string' || k.kind.length === 0) throw new AdmissionReviewError('request.kind.kind is missing');
  const group = optionalString(k.group, 'request.kind.group') ?? '';
  const version = optionalString(k.version, 'request.kind.version') ?? '';
  if (typeof req.operation !== 'string' || !OPERATIONS.has(req.operation)) {
    throw new AdmissionReviewError(`request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got ${JSON.stringify(req.operation ?? null).slice(0, 80)}`);
  }
  const namespace = optionalString(req.namespace, 'request.namespace');
  const name = optionalString(req.name, 'request.name');
  const subResource = optionalString(req.subResource, 'request.subResource');
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid: req.uid,
      kind: { group, version, kind: k.kind },
      operation: req.operation as AdmissionOperation,
      ...(namespace ? { namespace } : {}),
      ...(name ? { name } : {}),
      ...(subResource ? { subResource } : {}),
      ...(req.object !== undefined && req.object !== null ? { object: req.object } : {}),
      ...(req.oldObject !== undefined && req.oldObject !== null ? { oldObject: req.oldObject } : {}),
      ...(typeof req.dryRun === 'boolean' ? { dryRun: req.dryRun } : {}),
    },
  };
}

/** Wraps a response in its AdmissionReview envelope. */
export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
