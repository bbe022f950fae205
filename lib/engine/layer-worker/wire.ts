import * as engineErrors from '../errors';
import { allChecks } from '../checks/checks';
import { createClamdClient, type ClamdOptions } from '../checks/malware/clamd';
import { loadSignatures, type SignatureFiles } from '../checks/malware/signatures';
import { checkFingerprint } from '../checks/fingerprint';
import type { Check, FileCheck, ImageCheck } from '../checks/types';
import type { LayerInventory } from '../catalog/inventory';
import type { CheckResult } from '../checks/types';
import type { LayerEntry, LayerResult } from '../layers/layer-reader';

/**
 * What crosses between the main thread and a layer worker (./pool.ts, ./serve.ts): the layer's
 * answer, errors with their class, and the recipe the worker rebuilds the checks from (issue 16
 * item 2: CPU-bound work on worker threads). Everything here is structured-clone safe.
 */

/**
 * How a layer worker rebuilds the scan's checks (functions and sockets do not cross threads): the
 * options {@link allChecks} was given, in a form that does. The scan refuses a worker whose checks'
 * names and versions (malware's version carries the signatures' fingerprint) differ from the
 * caller's ({@link layerReadFingerprint}).
 */
export interface LayerWorkerSpec {
  /** The checks, as `allChecks` is given them: the malware signature files and clamd's address. Absent: the scan runs no checks. */
  readonly checks?: {
    readonly signatures?: SignatureFiles;
    readonly clamd?: ClamdOptions;
  };
}

/** What one layer read yields, in the worker or on the main thread: the in-thread path's values exactly. */
export interface FreshLayer {
  readonly result: LayerResult;
  /** `catalogLayer(result, catalogers)`. */
  readonly inventory: LayerInventory;
  /** What the file checks found while the layer streamed. */
  readonly checked: CheckResult;
}

/** The checks {@link LayerWorkerSpec.checks} stands for (file and image checks; base images are never in a spec). */
export async function checksFromSpec(spec: LayerWorkerSpec): Promise<Check[]> {
  if (!spec.checks) return [];
  const { signatures, clamd } = spec.checks;
  const sigs = signatures && (signatures.blocklists?.length || signatures.patterns?.length) ? await loadSignatures(signatures) : undefined;
  return allChecks({ ...(sigs ? { signatures: sigs } : {}), ...(clamd ? { clamd: createClamdClient(clamd) } : {}) });
}

/**
 * The checks that take part in reading a layer — file checks, and image checks that ask for bodies
 * to be kept — by name and version: what a worker's checks must match for its answer to be the scan's.
 */
export function layerReadFingerprint(checks: readonly Check[]): string {
  return checkFingerprint(checks.filter((c): c is FileCheck | ImageCheck => c.kind === 'file' || c.wants !== undefined));
}

/** An error as it crosses threads. `forwarded`: the main thread's own error object, by id (a source error handed to the worker and thrown back). */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** Own enumerable properties: `code`, `limit`, `max`, `expected`, `offset`… */
  readonly props: Record<string, unknown>;
  /** The standard `cause`, when it is an error (or a plain value). */
  readonly cause?: WireError | { readonly value: unknown };
  readonly forwarded?: number;
}

/** Marks an error the worker got from the main thread (a blob stream's error): it goes back by id, as the very object. */
const FORWARDED = Symbol('trustctl.forwardedError');

/** The error classes that are rebuilt as themselves: every engine error (errors.ts). */
const CLASSES: ReadonlyMap<string, new (...args: never[]) => Error> = new Map(
  (Object.values(engineErrors) as unknown[])
    .filter((v): v is new (...args: never[]) => Error => typeof v === 'function' && v.prototype instanceof Error)
    .map((c) => [c.name, c]),
);

/** An error for the other side; `forwarded` is the id under which the main thread keeps its original. */
export function toWire(e: unknown, forwarded?: number): WireError {
  const id = forwarded ?? (e instanceof Error ? (e as Error & { [FORWARDED]?: number })[FORWARDED] : undefined);
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), props: {}, ...(id !== undefined ? { forwarded: id } : {}) };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (isPlain(v)) props[k] = v;
  const cause = 'cause' in e ? (e.cause instanceof Error ? toWire(e.cause) : isPlain(e.cause) ? { value: e.cause } : undefined) : undefined;
  return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), props, ...(cause ? { cause } : {}), ...(id !== undefined ? { forwarded: id } : {}) };
}

/** The error again, as an instance of its engine class when it had one (so `instanceof` and `isUnscannable` hold). */
export function fromWire(w: WireError): Error {
  const cls = CLASSES.get(w.name);
  const e: Error = Object.create(cls ? cls.prototype : Error.prototype) as Error;
  Object.defineProperty(e, 'message', { value: w.message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(e, 'stack', { value: w.stack ?? `${w.name}: ${w.message}`, writable: true, configurable: true, enumerable: false });
  if (w.cause) Object.defineProperty(e, 'cause', { value: 'value' in w.cause ? w.cause.value : fromWire(w.cause), writable: true, configurable: true, enumerable: false });
  Object.assign(e, w.props);
  if (!cls) e.name = w.name;
  if (w.forwarded !== undefined) Object.defineProperty(e, FORWARDED, { value: w.forwarded, enumerable: false });
  return e;
}

function isPlain(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof v);
}

/**
 * Makes every body of a layer answer own exactly its bytes, and returns those ArrayBuffers to move
 * (not copy) to the main thread. A body is often a view into a larger buffer (an inflate chunk,
 * Node's shared allocation pool): a structured clone would copy the whole of that buffer, and moving
 * it would take it away from whoever else uses it — so such a body is copied once, to its own.
 * Bodies shared between entries (a hardlink's) stay shared.
 */
export function ownBodies(result: LayerResult): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const copies = new Map<Buffer, Buffer>();
  for (const e of result.entries.values() as Iterable<LayerEntry>) {
    const b = e.body;
    if (!b) continue;
    let own = copies.get(b);
    if (!own) {
      own = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer && !out.has(b.buffer) ? b : Buffer.from(new Uint8Array(b).buffer);
      copies.set(b, own);
      out.add(own.buffer as ArrayBuffer);
    }
    e.body = own;
  }
  return [...out];
}

/** A layer answer as it arrived: bodies are Uint8Arrays after the structured clone; make them Buffers again (views, no copy). */
export function reviveFresh(v: FreshLayer): FreshLayer {
  const seen = new Map<Uint8Array, Buffer>();
  for (const e of v.result.entries.values() as Iterable<LayerEntry>) {
    if (e.body && !Buffer.isBuffer(e.body)) {
      const u = e.body as Uint8Array;
      let b = seen.get(u);
      if (!b) seen.set(u, (b = Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
      e.body = b;
    }
  }
  return v;
}
