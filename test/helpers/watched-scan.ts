import { PassThrough, type Readable } from 'node:stream';
import type { Descriptor, Digest } from '../../lib/engine/model';
import type { CachedLayer, LayerCache } from '../../lib/engine/ports';
import type { ImageSource } from '../../lib/engine/registry/source';
import { MemoryLayerCache } from '../../lib/local/layer-cache';
import type { MemorySource } from './memory-source';

/** A layer cache that logs every lookup and write, in order (for scans compared by what they cached). */
export class LoggingCache implements LayerCache {
  readonly log: string[] = [];
  constructor(readonly inner = new MemoryLayerCache()) {}
  async get(key: string): Promise<CachedLayer | undefined> {
    const v = await this.inner.get(key);
    this.log.push(`get ${key} ${v ? 'hit' : 'miss'}`);
    return v;
  }
  async put(key: string, value: CachedLayer): Promise<void> {
    this.log.push(`put ${key} ${JSON.stringify(value)}`);
    await this.inner.put(key, value);
  }
}

/** The cache writes, in order (lookups may run ahead of earlier layers' writes: layers read at once). */
export const cachePuts = (c: LoggingCache): string[] => c.log.filter((l) => l.startsWith('put '));

/** A source that remembers every blob stream it handed out, and can serve some blobs that never end. */
export class WatchedSource implements ImageSource {
  readonly name: string;
  /** Every blob stream handed out, config blobs included. */
  readonly streams: Readable[] = [];
  /** The layer (not config) blobs opened, in order. */
  readonly layersOpened: Digest[] = [];
  /** The most layer blobs open at one time. */
  maxOpen = 0;
  private open = 0;
  constructor(private readonly inner: MemorySource, private readonly hanging: ReadonlySet<Digest> = new Set()) {
    this.name = inner.name;
  }
  getRootManifest() {
    return this.inner.getRootManifest();
  }
  getManifest(d: Digest) {
    return this.inner.getManifest(d);
  }
  async openBlob(desc: Descriptor): Promise<Readable> {
    const s = this.hanging.has(desc.digest) ? new PassThrough() : await this.inner.openBlob(desc);
    // A blob that never ends: a few bytes, then nothing (a registry that stalls).
    if (this.hanging.has(desc.digest)) (s as PassThrough).write(Buffer.alloc(10));
    this.streams.push(s);
    if (!desc.mediaType.includes('config')) {
      this.layersOpened.push(desc.digest);
      this.maxOpen = Math.max(this.maxOpen, ++this.open);
      s.once('close', () => this.open--);
    }
    return s;
  }
}
