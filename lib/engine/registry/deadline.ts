import type { Readable } from 'node:stream';
import { ScanTimeoutError } from '../errors';
import type { Descriptor, Digest } from '../model';
import { deadlineError } from './http';
import type { ImageSource, ManifestBytes } from './source';

/**
 * The overall deadline of one scan (RELIABILITY.md 60): `trustctl scan --timeout` in the CLI, the
 * Lambda's remaining time less a safety margin in the pipeline. It is an AbortSignal whose reason is a
 * {@link ScanTimeoutError}, threaded through the image source down to every request and body read
 * (http.ts GuardedBody), so that nothing a registry does — trickling a manifest, a blob or a token —
 * can keep a scan past it. Hitting it abandons the scan: no verdict is recorded.
 */

/** The default of `trustctl scan --timeout`: a multi-GB image scans in minutes; half an hour is a hang. */
export const DEFAULT_SCAN_TIMEOUT_MS = 30 * 60_000;

/**
 * What the pipeline keeps back from the Lambda's remaining time: enough to record the verdict (a few
 * DynamoDB writes) and report the batch before the runtime kills the invocation.
 */
export const DEADLINE_SAFETY_MARGIN_MS = 30_000;

/** A running deadline. */
export interface Deadline {
  /** Fires when the deadline passes; its reason is the {@link ScanTimeoutError}. */
  readonly signal: AbortSignal;
  /** Throws the {@link ScanTimeoutError} when the deadline has passed (e.g. after CPU-bound steps no read observed). */
  check(during?: string): void;
  /** Stops the timer (the scan finished in time). */
  clear(): void;
}

/**
 * Starts a deadline `ms` from now; `label` says what set it, for the message (`--timeout 30m`).
 * The timer does not keep the process alive.
 */
export function startDeadline(ms: number, label: string): Deadline {
  const controller = new AbortController();
  const fire = (): void => controller.abort(new ScanTimeoutError(label));
  let timer: NodeJS.Timeout | undefined;
  if (ms <= 0) fire();
  else {
    timer = setTimeout(fire, ms);
    timer.unref();
  }
  return {
    signal: controller.signal,
    check: (during?: string) => {
      if (controller.signal.aborted) throw deadlineError(controller.signal, during);
    },
    clear: () => clearTimeout(timer),
  };
}

/**
 * `source` under a deadline, whatever kind of source it is (registry, archive, layout): every call
 * fails once the deadline has passed, a pending call is abandoned when it fires, and an open blob
 * stream is destroyed with the {@link ScanTimeoutError} (which closes its file or connection). A
 * {@link RegistrySource} given the same signal also aborts its requests on the socket.
 */
export function withDeadline(source: ImageSource, signal: AbortSignal): ImageSource {
  const guarded = <T>(during: string, op: () => Promise<T>): Promise<T> => {
    if (signal.aborted) return Promise.reject(deadlineError(signal, during));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(deadlineError(signal, during));
      signal.addEventListener('abort', onAbort, { once: true });
      op().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  };
  return {
    name: source.name,
    getRootManifest: (): Promise<ManifestBytes> => guarded(`the manifest of ${source.name}`, () => source.getRootManifest()),
    getManifest: (digest: Digest): Promise<ManifestBytes> => guarded(`manifest ${digest}`, () => source.getManifest(digest)),
    openBlob: (desc: Descriptor): Promise<Readable> => {
      const during = `blob ${desc.digest}`;
      if (signal.aborted) return Promise.reject(deadlineError(signal, during));
      return new Promise<Readable>((resolve, reject) => {
        const onAbortOpening = (): void => reject(deadlineError(signal, during));
        signal.addEventListener('abort', onAbortOpening, { once: true });
        source.openBlob(desc).then(
          (stream) => {
            signal.removeEventListener('abort', onAbortOpening);
            if (signal.aborted) {
              // Opened after the deadline (the caller has been told already): close it, nobody reads it.
              stream.destroy();
              reject(deadlineError(signal, during));
              return;
            }
            const onAbort = (): void => void stream.destroy(deadlineError(signal, during));
            signal.addEventListener('abort', onAbort, { once: true });
            stream.once('close', () => signal.removeEventListener('abort', onAbort));
            resolve(stream);
          },
          (err: unknown) => {
            signal.removeEventListener('abort', onAbortOpening);
            reject(err);
          },
        );
      });
    },
    ...(source.close ? { close: () => source.close!() } : {}),
  };
}
