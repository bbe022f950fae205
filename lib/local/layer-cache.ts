import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LAYER_RECORD_VERSION } from '../engine/layers/layer-record';
import type { CachedLayer, LayerCache } from '../engine/ports';

/** A {@link LayerCache} in process memory: for one `trustctl` run, and in tests. */
export class MemoryLayerCache implements LayerCache {
  private readonly map = new Map<string, CachedLayer>();
  /** Keys asked for and found, for callers that report what the cache saved. */
  hits = 0;
  async get(key: string): Promise<CachedLayer | undefined> {
    const v = this.map.get(key);
    if (v) this.hits++;
    return v;
  }
  async put(key: string, value: CachedLayer): Promise<void> {
    this.map.set(key, value);
  }
  get size(): number {
    return this.map.size;
  }
}

/** Keys are `sha256:<hex>/<hex>` (or sha512) ({@link layerCacheKey}); anything else never becomes a file name (RELIABILITY.md 23). */
const KEY = /^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})\/([0-9a-f]{16,64})$/;

/**
 * A {@link LayerCache} on disk: one gzipped JSON file per key under `dir`, written to a temporary
 * name and renamed, so a reader never sees half a record. A file that does not parse, or holds another
 * key or record version, is a miss (and is overwritten by the next put), never an error.
 */
export class FileLayerCache implements LayerCache {
  constructor(readonly dir: string) {}

  private file(key: string): string | undefined {
    const m = KEY.exec(key);
    return m ? join(this.dir, m[1], m[2].slice(0, 2), `${m[2]}-${m[3]}.json.gz`) : undefined;
  }

  async get(key: string): Promise<CachedLayer | undefined> {
    const f = this.file(key);
    if (!f) return undefined;
    try {
      const doc = JSON.parse(gunzipSync(await readFile(f)).toString('utf8')) as { key?: string; value?: CachedLayer };
      if (doc.key !== key || doc.value?.record?.v !== LAYER_RECORD_VERSION) return undefined;
      return doc.value;
    } catch {
      return undefined;
    }
  }

  async put(key: string, value: CachedLayer): Promise<void> {
    const f = this.file(key);
    if (!f) return;
    await mkdir(join(f, '..'), { recursive: true });
    const tmp = `${f}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, gzipSync(JSON.stringify({ key, value }), { level: 1 }));
    await rename(tmp, f);
  }
}

/** `$TRUSTCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/trustctl`, else `~/.cache/trustctl` (XDG Base Directory spec). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRUSTCTL_CACHE_DIR) return env.TRUSTCTL_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trustctl');
}
