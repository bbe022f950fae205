import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../engine/registry/archive/helpers';

/**
 * bench/image-scan/mem-probe.cjs: loaded with `node --require` into the scan child, it tells what the
 * peak RSS is made of. Each case holds a known amount of one kind of memory until exit and checks
 * that the probe's breakdown at the peak shows it in the right column (and not as the other one).
 */
const PROBE = join(__dirname, '..', '..', '..', 'bench', 'image-scan', 'mem-probe.cjs');

interface Probe {
  atPeak: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; t: number };
  spacesAtExit: Record<string, number>;
  maxRssMiB: number;
}

function probe(script: string, out: string | undefined): { status: number | null; probe?: Probe } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (out) env.TRUSTCTL_MEM_PROBE = out;
  else delete env.TRUSTCTL_MEM_PROBE;
  const r = spawnSync(process.execPath, ['--require', PROBE, '-e', script], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { status: r.status, probe: out ? (JSON.parse(readFileSync(out, 'utf8')) as Probe) : undefined };
}

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('trustctl-mem-probe-test-');
});
afterAll(() => tmp.cleanup());

const cases: { name: string; script: string; check: (p: Probe) => void }[] = [
  {
    name: '96 MiB of ArrayBuffers held to the end show as arrayBuffers, not heap',
    script: 'globalThis.keep = Array.from({ length: 96 }, () => Buffer.alloc(1 << 20, 1));',
    check: (p) => {
      expect(p.atPeak.arrayBuffers).toBeGreaterThanOrEqual(96);
      expect(p.atPeak.heapUsed).toBeLessThan(64);
      expect(p.atPeak.rss).toBeGreaterThanOrEqual(96);
    },
  },
  {
    name: '~100 MiB of JS objects held to the end show as heap, not arrayBuffers',
    script: 'globalThis.keep = Array.from({ length: 1_500_000 }, (_, i) => ({ i, s: "x" + i, t: [i, i + 1] }));',
    check: (p) => {
      expect(p.atPeak.heapUsed).toBeGreaterThanOrEqual(64);
      expect(p.atPeak.arrayBuffers).toBeLessThan(16);
      expect(p.spacesAtExit.old_space).toBeGreaterThanOrEqual(32);
    },
  },
];

describe('mem-probe.cjs', () => {
  it.each(cases)('$name', ({ script, check }) => {
    const out = join(tmp.dir, 'probe.json');
    const r = probe(script, out);
    const p = r.probe as Probe;
    expect(p.maxRssMiB).toBeGreaterThanOrEqual(p.atPeak.rss);
    expect(p.spacesAtExit.new_space).toBeGreaterThan(0);
    check(p);
  });

  it('does nothing without TRUSTCTL_MEM_PROBE (the scan runs as without it)', () => {
    expect(probe('process.stdout.write("ok")', undefined).status).toBe(0);
  });
});
