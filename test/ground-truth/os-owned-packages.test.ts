/**
 * Issue 14 "Only what is installed is inventory", with Debian's own package: python3-flask 2.2.2-3
 * (bookworm) installs `/usr/lib/python3/dist-packages/Flask-2.2.2.egg-info`. PyPI's advisory for
 * CVE-2023-30861 (GHSA-m2qf-hxjv-5gpq) calls flask 2.2.2 affected; Debian fixed it in 2.2.2-3, and the
 * Debian feed says so. Installed by dpkg (status + `info/python3-flask.list`, as dpkg leaves them),
 * the flask package is attributed to python3-flask and judged by the Debian feed only: no PyPI finding.
 * The same files with the egg-info left out of dpkg's list are not dpkg's: matched against PyPI, the
 * finding is there.
 *
 * Real parts: the .deb from Debian's archive (test/helpers/deb-fixture.ts, cached under
 * /var/cache/trustctl; the test FAILS when the archive is unreachable), the real OSV exports of
 * ../shared/feeds/osv (Debian, PyPI) synced with `trustctl feeds sync`, `trustctl scan dir:` as a user runs it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DebFile, fetchDeb, installDeb } from '../helpers/deb-fixture';
import { REPO, debianRootPath, runTrustctlMeasured, type ScanReport } from '../helpers/ground-truth';

const MINUTES = 60_000;
const FEEDS = join(REPO, '..', 'shared', 'feeds', 'osv');
const EGG_INFO = '/usr/lib/python3/dist-packages/Flask-2.2.2.egg-info';

type Report = Omit<ScanReport, 'packages' | 'findings'> & {
  packages: (ScanReport['packages'][number] & { ownedBy?: { purl: string; name: string } })[];
  findings: { type: string; id: string; aliases: string[]; package?: string }[];
};

describe('python3-flask 2.2.2-3 from Debian: attributed to dpkg, not matched against PyPI (issue 14)', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let adv: string;
  let deb: DebFile;

  beforeAll(async () => {
    deb = fetchDeb('python3-flask', '2.2.2-3');
    work = mkdtempSync(join(tmpdir(), 'trustctl-os-owned-'));
    env = { ...process.env, TRUSTCTL_DATA_DIR: join(work, 'data'), TRUSTCTL_CACHE_DIR: join(work, 'cache') };
    // Only the two feeds this case needs, as the real exports.
    const feeds = join(work, 'feeds');
    for (const eco of ['Debian', 'PyPI']) {
      mkdirSync(join(feeds, eco), { recursive: true });
      symlinkSync(join(FEEDS, eco, 'all.zip'), join(feeds, eco, 'all.zip'));
    }
    adv = join(work, 'advisories');
    const sync = await runTrustctlMeasured(['feeds', 'sync', '--feed', feeds, '--data-dir', adv], env);
    if (sync.code !== 0) throw new Error(`feeds sync failed (${sync.code}): ${sync.stderr.slice(-2000)}`);
  }, 5 * MINUTES);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A root with Debian 12's os-release and python3-flask installed as dpkg would (minus what `unlisted` drops from its list). */
  async function scanRoot(name: string, unlisted?: (path: string) => boolean): Promise<Report> {
    const root = join(work, name);
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc', 'os-release'), readFileSync(join(debianRootPath(), 'usr', 'lib', 'os-release')));
    const installed = installDeb(root, deb, { unlisted });
    expect(installed).toEqual({ name: 'python3-flask', version: '2.2.2-3' });
    const run = await runTrustctlMeasured(['scan', `dir:${root}`, '--format', 'json', '--no-record', '--no-cache', '--no-progress', '--data-dir', adv], env);
    if (run.code === 2 || !run.stdout) throw new Error(`scan of ${root} failed (exit ${run.code}): ${run.stderr.slice(-3000)}`);
    return JSON.parse(run.stdout) as Report;
  }

  const flaskFindings = (r: Report) => r.findings.filter((f) => f.type === 'vulnerability' && f.package?.startsWith('pkg:pypi/flask@'));
  const isCve = (f: { id: string; aliases: string[] }) => f.id === 'CVE-2023-30861' || f.aliases.includes('CVE-2023-30861');

  test('listed by dpkg: flask is python3-flask\'s, no PyPI finding, and Debian\'s feed finds 2.2.2-3 fixed', async () => {
    const r = await scanRoot('listed');
    const flask = r.packages.find((p) => p.ecosystem === 'PyPI' && p.name === 'flask');
    const owner = r.packages.find((p) => p.ecosystem === 'Debian' && p.name === 'python3-flask');
    expect(owner).toMatchObject({ version: '2.2.2-3', distro: 'Debian:12' });
    expect(flask).toMatchObject({ version: '2.2.2', locations: [{ path: `${EGG_INFO}/PKG-INFO` }], ownedBy: { name: 'python3-flask', purl: owner!.purl } });
    expect(flaskFindings(r)).toEqual([]);
    expect(r.findings.filter(isCve)).toEqual([]);
    expect(r.unknowns.filter((u) => u.class === 'no-vulnerability-data')).toEqual([]);
  }, 5 * MINUTES);

  test('the same egg-info not in dpkg\'s list: matched against PyPI, CVE-2023-30861 reported', async () => {
    const r = await scanRoot('unlisted', (p) => p.startsWith(EGG_INFO));
    const flask = r.packages.find((p) => p.ecosystem === 'PyPI' && p.name === 'flask');
    expect(flask).toBeDefined();
    expect(flask!.ownedBy).toBeUndefined();
    expect(flaskFindings(r).filter(isCve)).toHaveLength(1);
  }, 5 * MINUTES);

  test('no file list at all (a dpkg status naming the package is not enough): matched against PyPI', async () => {
    const root = join(work, 'nolist');
    mkdirSync(join(root, 'etc'), { recursive: true });
    copyFileSync(join(debianRootPath(), 'usr', 'lib', 'os-release'), join(root, 'etc', 'os-release'));
    installDeb(root, deb, { noFileList: true });
    const run = await runTrustctlMeasured(['scan', `dir:${root}`, '--format', 'json', '--no-record', '--no-cache', '--no-progress', '--data-dir', adv], env);
    const r = JSON.parse(run.stdout) as Report;
    expect(r.packages.find((p) => p.ecosystem === 'PyPI' && p.name === 'flask')?.ownedBy).toBeUndefined();
    expect(flaskFindings(r).filter(isCve)).toHaveLength(1);
  }, 5 * MINUTES);
});
