import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `../shared` next to the checkout: the read-only corpus and feeds (never copied into the repo). */
export const SHARED = resolve(__dirname, '..', '..', '..', 'shared');

/** Absolute path of a file under ../shared/corpus. */
export function corpusPath(...parts: string[]): string {
  const p = join(SHARED, 'corpus', ...parts);
  if (!existsSync(p)) throw new Error(`corpus file missing: ${p} (is ../shared next to the checkout?)`);
  return p;
}

/** Bytes of a file under ../shared/corpus. */
export function corpusBytes(...parts: string[]): Buffer {
  return readFileSync(corpusPath(...parts));
}
