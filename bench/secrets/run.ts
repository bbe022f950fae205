/**
 * The secrets scan alone, on real bodies: this machine's files that the secrets check wants (its
 * `wants` predicate, text only: a NUL in the first 8 KiB drops a body as the check does) from an OS
 * tree and Node packages, fed in 64 KiB chunks to the current {@link SecretStreamScanner} and to the
 * one before rules ran only near their keywords (test/engine/checks/reference-keyword-secrets.ts),
 * alternating in one process, several rounds; prints CPU time per round, the median and the median
 * ratio, and fails if the two ever report different hits.
 *
 *   npx tsx bench/secrets/run.ts [--rounds 7] [--mib 96] [--root /usr --root /work/main/node_modules] [--only new|old]
 */
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SecretStreamScanner } from '../../lib/engine/checks/secrets/rules';
import { BINARY_PROBE_BYTES, secretsWants } from '../../lib/engine/checks/secrets';
import { KeywordSecretStreamScanner } from '../../test/engine/checks/reference-keyword-secrets';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const opt = (name: string): string[] => args.flatMap((a, i) => (a === `--${name}` && args[i + 1] !== undefined ? [args[i + 1]] : []));
const rounds = Number(opt('rounds')[0] ?? 7);
const budget = Number(opt('mib')[0] ?? 96) * MiB;
const defaultRoots = ['/var/cache/trustctl/debian-root-e862ca5fbcecdbe6/root/usr', '/usr/lib/node_modules', '/work/main/node_modules', '/etc'];
const roots = opt('root').length > 0 ? opt('root') : defaultRoots;
/** `--only new` (or `old`): run one scanner, for a CPU profile (`node --cpu-prof --import tsx …`). */
const only = opt('only')[0];

/** Wanted text bodies under `roots`, walked in sorted order, until `budget` bytes (split evenly over the roots). */
function bodies(): { path: string; body: Buffer }[] {
  const wants = secretsWants();
  const out: { path: string; body: Buffer }[] = [];
  for (const root of roots) {
    let left = budget / roots.length;
    const walk = (dir: string, inImage: string): void => {
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        return;
      }
      for (const n of names) {
        if (left <= 0) return;
        const p = join(dir, n);
        const st = lstatSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        const imagePath = `${inImage}/${n}`;
        if (st.isDirectory()) walk(p, imagePath);
        else if (st.isFile() && wants(imagePath, { type: 'file', size: st.size, mode: 0o644, uid: 0, gid: 0, mtime: 0 })) {
          let body: Buffer;
          try {
            body = readFileSync(p);
          } catch {
            continue;
          }
          if (body.subarray(0, BINARY_PROBE_BYTES).includes(0)) continue;
          out.push({ path: imagePath, body });
          left -= body.length;
        }
      }
    };
    // Paths as an image would hold them: the Debian root's /usr is /usr; the others keep theirs.
    walk(root, root.endsWith('/root/usr') ? '/usr' : root);
  }
  return out;
}

type Scanner = { write(c: Buffer): void; end(): unknown[] };
function run(files: readonly { body: Buffer }[], make: (size: number) => Scanner): { ms: number; hits: unknown[][] } {
  const hits: unknown[][] = [];
  const t0 = process.cpuUsage();
  for (const f of files) {
    const s = make(f.body.length);
    for (let off = 0; off < f.body.length; off += 65536) s.write(f.body.subarray(off, off + 65536));
    hits.push(s.end());
  }
  const d = process.cpuUsage(t0);
  return { ms: (d.user + d.system) / 1000, hits };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  const files = bodies();
  const bytes = files.reduce((n, f) => n + f.body.length, 0);
  console.log(`Node ${process.version}; ${files.length} bodies, ${(bytes / MiB).toFixed(1)} MiB from ${roots.join(', ')}`);
  const old: number[] = [];
  const now: number[] = [];
  let hitCount = 0;
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first so that warm-up and machine load fall on both.
    const order = r % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
    const res: Record<string, { ms: number; hits: unknown[][] }> = {};
    if (only !== undefined) {
      const ms = run(files, (n) => (only === 'old' ? new KeywordSecretStreamScanner(undefined, undefined, n) : new SecretStreamScanner(undefined, undefined, n))).ms;
      console.log(`round ${r + 1}: ${only} ${ms.toFixed(0)} ms`);
      continue;
    }
    for (const which of order) {
      res[which] = which === 'old' ? run(files, (n) => new KeywordSecretStreamScanner(undefined, undefined, n)) : run(files, (n) => new SecretStreamScanner(undefined, undefined, n));
    }
    if (!isDeepStrictEqual(res.old.hits, res.new.hits)) throw new Error('the two scanners reported different hits');
    hitCount = res.new.hits.reduce((n, h) => n + h.length, 0);
    old.push(res.old.ms);
    now.push(res.new.ms);
    console.log(`round ${r + 1}: before ${res.old.ms.toFixed(0)} ms, after ${res.new.ms.toFixed(0)} ms, after/before ${(res.new.ms / res.old.ms).toFixed(3)}`);
  }
  if (only !== undefined) return;
  const ratios = old.map((o, i) => now[i] / o);
  console.log(`hits (identical): ${hitCount}`);
  console.log(`median CPU: before ${median(old).toFixed(0)} ms, after ${median(now).toFixed(0)} ms; median after/before ${median(ratios).toFixed(3)} (${(1 / median(ratios)).toFixed(2)}x faster); MiB/s after ${((bytes / MiB) / (median(now) / 1000)).toFixed(0)}`);
}

main();
