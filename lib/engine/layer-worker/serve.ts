import { Readable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { CATALOGERS } from '../catalog/catalogers';
import { catalogLayer } from '../catalog/inventory';
import type { Check } from '../checks/types';
import type { Limits } from '../limits';
import type { Descriptor } from '../model';
import type { ImageSource } from '../registry/source';
import type { ResolvedImage } from '../registry/resolve';
import { readLayerForScan } from '../scan-image';
import { checksFromSpec, fromWire, layerReadFingerprint, ownBodies, toWire, type FreshLayer, type LayerWorkerSpec, type WireError } from './wire';

/**
 * The worker side of a layer worker (./pool.ts): each job reads one layer exactly as the main thread
 * would (`readLayerForScan`, then `catalogLayer`), with the blob's compressed bytes handed over by
 * the main thread, and answers with what it found or the error it failed with.
 */

/** A job: one layer of one image. `port` carries the blob's bytes and the answer. */
export interface LayerJob {
  readonly t: 'job';
  readonly port: MessagePort;
  readonly image: ResolvedImage;
  readonly index: number;
  readonly limits: Limits;
  readonly spec: LayerWorkerSpec;
  /** A key for `spec` (its JSON): checks are built once per spec and worker. */
  readonly specKey: string;
}

/** Main thread → worker, on a job's port. */
export type ToWorker =
  | { readonly t: 'opened'; readonly pass: number }
  | { readonly t: 'chunk'; readonly pass: number; readonly data: Uint8Array }
  | { readonly t: 'end'; readonly pass: number }
  | { readonly t: 'fail'; readonly pass: number; readonly error: WireError };

/** Worker → main thread, on a job's port. */
export type FromWorker =
  | { readonly t: 'open'; readonly pass: number; readonly digest: string }
  | { readonly t: 'ack'; readonly pass: number; readonly n: number }
  | { readonly t: 'close'; readonly pass: number }
  | { readonly t: 'done'; readonly fingerprint: string; readonly value: FreshLayer }
  | { readonly t: 'error'; readonly error: WireError };

const checksBySpec = new Map<string, Promise<Check[]>>();

/** Serves jobs from the parent until the worker is terminated. */
export function serveLayerJobs(parent: MessagePort): void {
  parent.on('message', (job: LayerJob) => void runJob(job));
  parent.postMessage({ t: 'ready' });
}

async function runJob(job: LayerJob): Promise<void> {
  const port = job.port;
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  try {
    let checks = checksBySpec.get(job.specKey);
    if (!checks) checksBySpec.set(job.specKey, (checks = checksFromSpec(job.spec)));
    const built = await checks;
    const { result, checked } = await readLayerForScan(remoteSource(port, job.image.manifest.layers[job.index]), job.image, job.index, job.limits, CATALOGERS, built);
    const inventory = catalogLayer(result, CATALOGERS);
    // Only the first pass's members would ride along: nobody reads them after the read.
    const { capturedMembers: _unused, ...rest } = result;
    const value: FreshLayer = { result: rest, inventory, checked };
    post({ t: 'done', fingerprint: layerReadFingerprint(built), value }, ownBodies(result));
  } catch (e) {
    post({ t: 'error', error: toWire(e) });
  }
}

/**
 * An image source whose only operation is the layer's blob, opened by the main thread (which
 * verifies its digest and size) and streamed here chunk by chunk; each chunk is acknowledged once
 * the reader wanted more, so the main thread never sends far ahead (backpressure).
 */
function remoteSource(port: MessagePort, desc: Descriptor): ImageSource {
  let next = 0;
  const passes = new Map<number, { readonly stream: Readable; opened: boolean; owed: number; resolve(s: Readable): void; reject(e: Error): void }>();
  port.on('message', (m: ToWorker) => {
    const p = passes.get(m.pass);
    if (!p) return;
    switch (m.t) {
      case 'opened':
        p.opened = true;
        p.resolve(p.stream);
        break;
      case 'chunk':
        if (p.stream.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength))) port.postMessage({ t: 'ack', pass: m.pass, n: 1 } satisfies FromWorker);
        else p.owed++;
        break;
      case 'end':
        p.stream.push(null);
        break;
      case 'fail':
        if (p.opened) p.stream.destroy(fromWire(m.error));
        else p.reject(fromWire(m.error));
        break;
    }
  });
  const unsupported = (): Promise<never> => Promise.reject(new Error('a layer worker reads blobs only'));
  return {
    name: desc.digest,
    getRootManifest: unsupported,
    getManifest: unsupported,
    openBlob: (d: Descriptor) => new Promise<Readable>((resolve, reject) => {
      const pass = next++;
      const stream = new Readable({
        read() {
          const p = passes.get(pass);
          if (p && p.owed > 0) {
            port.postMessage({ t: 'ack', pass, n: p.owed } satisfies FromWorker);
            p.owed = 0;
          }
        },
        destroy(err, cb) {
          passes.delete(pass);
          port.postMessage({ t: 'close', pass } satisfies FromWorker);
          cb(err);
        },
      });
      passes.set(pass, { stream, opened: false, owed: 0, resolve, reject });
      port.postMessage({ t: 'open', pass, digest: d.digest } satisfies FromWorker);
    }),
  };
}
