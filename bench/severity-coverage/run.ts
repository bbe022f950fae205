/**
 * How many of the quick-start sample's vulnerability findings no source gives a severity (issue 14:
 * "the README reports the share still UNKNOWN with and without" the NVD corpus). Not a speed benchmark:
 * a measurement over real data, printed for the README. Scans the sample (linux/amd64) twice with the
 * real CLI: OSV exports only, then OSV + ../shared/corpus/nvd + the CISA KEV snapshot.
 *
 * Usage: npm run bench:severity
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ScanReport } from '../../lib/cli/format/report';
import { main } from '../../lib/cli/main';
import { quickstartAppFiles, writeSampleArchive } from '../../lib/local/builder/sample';

const SHARED = join(__dirname, '..', '..', '..', 'shared');

async function run(...args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.resume();
  const code = await main(['node', 'trustctl', ...args], { stdout, stderr });
  return { code, out };
}

async function measure(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-severity-bench-'));
  try {
    const image = join(dir, 'sample.oci.tar');
    await writeSampleArchive(image, quickstartAppFiles(SHARED));
    const osv = join(SHARED, 'feeds', 'osv');
    const rows: string[] = [];
    for (const [label, feeds] of [['OSV exports only', [osv]], ['OSV + corpus/nvd + KEV', [osv, join(SHARED, 'corpus', 'nvd'), join(SHARED, 'feeds', 'kev')]]] as const) {
      const data = join(dir, label.replace(/\W+/g, '-'));
      const sync = await run('feeds', 'sync', ...feeds.flatMap((f) => ['--feed', f]), '--data-dir', data);
      if (sync.code !== 0) throw new Error(`feeds sync failed (${sync.code})`);
      const r = await run('scan', `oci-archive:${image}`, '--format', 'json', '--data-dir', data, '--cache-dir', join(dir, 'cache'), '--platform', 'linux/amd64', '--no-record');
      const vulns = (JSON.parse(r.out) as ScanReport).findings.filter((f) => f.type === 'vulnerability');
      const by = (eco: string) => vulns.filter((f) => (f.package ?? '').startsWith(`pkg:${eco}/`) || (eco === 'golang' && (f.package ?? '').includes('stdlib')));
      const share = (fs: typeof vulns) => `${fs.filter((f) => f.severity === 'unknown').length}/${fs.length} (${fs.length ? ((100 * fs.filter((f) => f.severity === 'unknown').length) / fs.length).toFixed(1) : '0.0'} %)`;
      rows.push(`| ${label} | ${share(vulns)} | ${share(by('pypi'))} | ${share(by('golang'))} | ${share(by('npm'))} | ${share(by('deb'))} | verdict exit ${r.code} |`);
    }
    process.stdout.write('| feeds | UNKNOWN, all | PyPI | Go | npm | Debian | |\n|---|---|---|---|---|---|---|\n' + rows.join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

measure().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 2;
});
