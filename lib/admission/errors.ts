import { TrustError } from '../engine/errors';

/**
 * The admission webhook's named errors, in the product's one error tree (lib/engine/errors.ts):
 * callers branch on `instanceof` or `code`, never on message text.
 */

/**
 * A request body that is not an AdmissionReview `admission.k8s.io/v1` we can answer: not JSON, another
 * apiVersion or kind, no `request.uid`, no `request.kind`, an unknown operation. The server answers
 * HTTP 400: without a uid there is no response the API server could match to its request, and the
 * API server then applies the webhook's `failurePolicy: Fail` — the object is not admitted.
 */
export class AdmissionReviewError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_ADMISSION_REVIEW', message, options);
  }
}

/**
 * A Pod or pod template that a matching kind carries but we cannot read (no `spec`, `containers` not a
 * list, a container without an image string). Never admitted silently: the decision denies with this
 * message (DESIGN.md "Fail closed").
 */
export class UnreadableWorkloadError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNREADABLE_WORKLOAD', message, options);
  }
}

/** A verdict store lookup or a tag resolution did not answer within its time budget (RELIABILITY.md 38). */
export class LookupTimeoutError extends TrustError {
  constructor(
    /** What did not answer, e.g. `verdict store lookup of sha256:…`. */
    readonly what: string,
    /** The budget in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super('LOOKUP_TIMEOUT', `${what} did not answer within ${timeoutMs} ms`);
  }
}

/** The admission configuration (or the webhook manifests' options) is not usable: a bad pattern, a timeout over the webhook's own… */
export class AdmissionConfigError extends TrustError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_ADMISSION_CONFIG', message, options);
  }
}

/**
 * Plain HTTP asked for on an address that is not loopback. The API server only calls webhooks over
 * HTTPS, and verdicts must not travel in clear text on a network: plain HTTP is for 127.0.0.1 only.
 */
export class InsecureListenError extends TrustError {
  constructor(message: string) {
    super('INSECURE_LISTEN', message);
  }
}
