import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The checkout's `node_modules` (wherever the checkout is: CI clones it elsewhere). */
export const REPO_NODE_MODULES = join(__dirname, '..', '..', 'node_modules');

/** Where {@link machineFiles} looks: a directory, how deep, how many bytes at most, which names. */
export interface MachineWalk {
  readonly dir: string;
  readonly depth: number;
  readonly bytes: number;
  /** File names to take (default: every one). */
  readonly name?: RegExp;
}

/**
 * Real files of this machine for data-driven tests: each walk in sorted order (deterministic on one
 * machine), files of 1 byte to `maxFileBytes`, until its byte budget is spent; what cannot be read is
 * skipped (a missing directory gives nothing).
 */
export function machineFiles(walks: readonly MachineWalk[], maxFileBytes = 1024 * 1024): { path: string; body: Buffer }[] {
  const out: { path: string; body: Buffer }[] = [];
  const walk = (dir: string, depth: number, budget: { bytes: number }, name: RegExp | undefined): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (budget.bytes <= 0) return;
      const p = join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth > 0) walk(p, depth - 1, budget, name);
      else if (st.isFile() && st.size > 0 && st.size <= maxFileBytes && (name === undefined || name.test(n))) {
        try {
          const body = readFileSync(p);
          out.push({ path: p, body });
          budget.bytes -= body.length;
        } catch {
          // unreadable: skip
        }
      }
    }
  };
  for (const w of walks) walk(w.dir, w.depth, { bytes: w.bytes }, w.name);
  return out;
}
