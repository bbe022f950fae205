/**
 * Issue 14 "Done when": "SPDX 2.3 and CycloneDX 1.5 outputs validate against the official schemas in
 * the test suite" — here for SBOMs of real inventories, exactly as `trustctl scan --format spdx|cyclonedx`
 * prints them (formatScan), each checked with test/helpers/sbom-schemas.ts: the official SPDX 2.3 JSON
 * schema (copied unedited from spdx/spdx-spec) plus the 2.3 text's rules, and CycloneDX's own 1.5
 * validator plus the 1.5 text's reference rules.
 *
 * The inventories are scanned from real files, not made up: the README quick-start's sample image
 * (this machine's dpkg database, real yarn.lock and Pipfile.lock from ../shared/corpus), the cached
 * debootstrapped Debian root (dpkg, npm, PyPI, Go binaries with their stdlib, a Maven jar), a
 * directory of packages whose names and versions hold the characters identifiers trip over, an empty
 * directory, and the sample cut by a limit (unknowns, an unscannable finding). Findings come from the
 * shipped OSV exports (../shared/feeds/osv), so vulnerabilities and annotations are in the documents too.
 *
 * The Debian root is built before the suite (.ci/run runs scripts/debian-root.sh); when it is absent
 * this file FAILS with the command to build it, as the ground-truth suites do.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { advisoriesForScan } from '../../../lib/cli/advisories';
import { formatScan, scanTarget } from '../../../lib/cli/commands/scan';
import { sbomPackages } from '../../../lib/cli/format/cyclonedx';
import { resolveLimits } from '../../../lib/engine/limits';
import type { AdvisorySource, ScanResult } from '../../../lib/engine/scan-image';
import { emptyAdvisories } from '../../helpers/advisories';
import { SHARED } from '../../helpers/corpus';
import { debianRootPath } from '../../helpers/ground-truth';
import { validateCycloneDx15, validateSpdx23 } from '../../helpers/sbom-schemas';
import { writeSampleArchive } from '../../../lib/local/builder/sample';

const MINUTES = 60_000;
const DEBIAN_ROOT = debianRootPath();

/** Writes `body` at `rel` under `root`, making the directories on the way. */
function put(root: string, rel: string, body: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), body);
}

/**
 * A root whose packages have names and versions an SPDX identifier or a purl must escape: `+`, `~`,
 * an epoch `:`, `#`, `_`, `.`, a space, upper case and non-ASCII; plus a package.json without a
 * version, which the npm cataloger records as an unknown (class parse-error).
 */
function writeOddRoot(root: string): void {
  put(root, 'etc/os-release', 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
  put(root, 'var/lib/dpkg/status', 'Package: lib++odd~x\nStatus: install ok installed\nArchitecture: all\nVersion: 1:2.0~rc1+dfsg-3\nSource: odd (1:2.0~rc1+dfsg-3)\nDescription: odd\n\n');
  put(root, 'app/node_modules/@Scope/Na me+ü/package.json', JSON.stringify({ name: '@Scope/Na me+ü~x', version: '1.0.0-rc.1+build.ü 2' }));
  put(root, 'app/node_modules/plain/package.json', JSON.stringify({ name: 'plain', version: '' }));
  put(root, 'usr/lib/python3/dist-packages/Odd_Name.Pkg-1.0+local.dist-info/METADATA', 'Metadata-Version: 2.1\nName: Odd_Name.Pkg\nVersion: 1.0+local.ü\n\n');
  put(root, 'app/Gemfile.lock', 'GEM\n  remote: https://rubygems.org/\n  specs:\n    odd#gem (1.0.0.pre)\n\nPLATFORMS\n  ruby\n\nDEPENDENCIES\n  odd#gem\n');
}

interface Case {
  readonly name: string;
  /** The `trustctl scan` target. */
  readonly target: () => string;
  readonly limits?: Partial<Record<string, number>>;
  readonly feeds: 'osv' | 'empty';
  /** What the scanned inventory must hold for the case to test what its name says. */
  readonly holds: (r: ScanResult) => void;
}

const ecosystems = (r: ScanResult) => new Set(r.images.flatMap((i) => i.packages.map((p) => p.ecosystem)));
const findings = (r: ScanResult, type?: string) => r.images.flatMap((i) => i.findings).filter((f) => !type || f.type === type);

describe('SBOMs of real inventories validate against the official SPDX 2.3 and CycloneDX 1.5 schemas (issue 14)', () => {
  let work: string;
  let osv: AdvisorySource | undefined;
  const scans = new Map<string, Promise<ScanResult>>();

  const cases: readonly Case[] = [
    {
      name: 'the quick-start sample: a two-platform OCI index with a dpkg database, a yarn.lock and a Pipfile.lock',
      target: () => `oci-archive:${join(work, 'sample.oci.tar')}`, feeds: 'osv',
      holds: (r) => {
        expect(r.images.map((i) => [i.platform, i.os?.id])).toEqual([['linux/amd64', 'debian'], ['linux/arm64', 'debian']]);
        expect([...ecosystems(r)]).toEqual(expect.arrayContaining(['Debian', 'npm', 'PyPI']));
        expect(findings(r, 'vulnerability').length).toBeGreaterThan(0);
      },
    },
    {
      name: 'the cached Debian root: dpkg, npm, PyPI, Go binaries with their stdlib and a Maven jar',
      target: () => `dir:${DEBIAN_ROOT}`, feeds: 'osv',
      holds: (r) => {
        expect([...ecosystems(r)]).toEqual(expect.arrayContaining(['Debian', 'npm', 'PyPI', 'Go', 'Maven']));
        const pkgs = r.images.flatMap((i) => i.packages);
        expect(pkgs.filter((p) => p.ecosystem === 'Go' && p.name === 'stdlib').length).toBeGreaterThan(0);
        expect(pkgs.filter((p) => p.purl.startsWith('pkg:maven/')).length).toBeGreaterThan(0);
        expect(pkgs.filter((p) => p.ecosystem === 'Debian').length).toBeGreaterThan(400);
        expect(findings(r, 'vulnerability').length).toBeGreaterThan(0);
      },
    },
    {
      name: 'odd names and versions (+ ~ : # _ . space, upper case, non-ASCII) and an unknown',
      target: () => `dir:${join(work, 'odd')}`, feeds: 'empty',
      holds: (r) => {
        expect(r.images[0].packages.map((p) => `${p.ecosystem} ${p.name} ${p.version}`).sort()).toEqual([
          'Debian lib++odd~x 1:2.0~rc1+dfsg-3', 'PyPI odd-name-pkg 1.0+local.ü', 'RubyGems odd#gem 1.0.0.pre', 'npm @Scope/Na me+ü~x 1.0.0-rc.1+build.ü 2',
        ]);
        expect(r.images[0].unknowns).toEqual([expect.objectContaining({ path: '/app/node_modules/plain/package.json', class: 'parse-error' })]);
      },
    },
    {
      name: 'an empty directory: no packages, no OS',
      target: () => `dir:${join(work, 'empty')}`, feeds: 'empty',
      holds: (r) => {
        expect(r.images.map((i) => [i.packages.length, i.os])).toEqual([[0, undefined]]);
      },
    },
    {
      name: 'the quick-start sample cut by a 4 KiB catalog-file cap: cut-by-cap unknowns',
      target: () => `oci-archive:${join(work, 'sample.oci.tar')}`, limits: { maxCatalogFileBytes: 4096 }, feeds: 'osv',
      holds: (r) => {
        expect(r.images.flatMap((i) => i.unknowns).filter((u) => u.class === 'cut-by-cap').length).toBeGreaterThan(0);
        expect(r.verdict.status).not.toBe('trusted');
      },
    },
  ];

  beforeAll(async () => {
    if (!existsSync(join(DEBIAN_ROOT, '..', 'build.txt'))) {
      throw new Error(`the Debian ground-truth root is not built at ${DEBIAN_ROOT}: run \`scripts/debian-root.sh\` as root (needs Debian's archive; .ci/run does this before \`npm test\`)`);
    }
    work = mkdtempSync(join(tmpdir(), 'trustctl-sbom-schemas-'));
    // The README quick start's image, with the same real lock files scripts/quickstart.ts adds.
    await writeSampleArchive(join(work, 'sample.oci.tar'), [
      { hostPath: join(SHARED, 'corpus', 'pkgdb', 'npm', 'trivy-nodejs-yarn-yarn_happy', 'yarn_happy.lock'), imagePath: '/app/yarn.lock' },
      { hostPath: join(SHARED, 'corpus', 'pkgdb', 'pypi', 'trivy-python-pipenv-Pipfile_django', 'Pipfile_django.lock'), imagePath: '/app/Pipfile.lock' },
    ]);
    writeOddRoot(join(work, 'odd'));
    mkdirSync(join(work, 'empty'));
    osv = (await advisoriesForScan([join(SHARED, 'feeds', 'osv')])).advisories;
    if (!osv) throw new Error('the shipped OSV exports gave no advisory source');
  }, 5 * MINUTES);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** One scan per case, shared by its tests (the Debian root takes a minute or more). */
  const scan = (c: Case): Promise<ScanResult> => {
    let p = scans.get(c.name);
    if (!p) {
      p = scanTarget(c.target(), { limits: resolveLimits(c.limits), advisories: c.feeds === 'osv' ? osv : emptyAdvisories() });
      scans.set(c.name, p);
    }
    return p;
  };

  describe.each(cases)('$name', (c) => {
    it('is the inventory the case is named for', async () => {
      c.holds(await scan(c));
    }, 5 * MINUTES);

    it('as SPDX 2.3: valid, and every package is in it', async () => {
      const r = await scan(c);
      const doc = JSON.parse(formatScan(r, 'spdx')) as { packages: { primaryPackagePurpose?: string }[] };
      expect(validateSpdx23(doc)).toEqual([]);
      expect(doc.packages.filter((p) => p.primaryPackagePurpose === 'LIBRARY')).toHaveLength(sbomPackages(r).length);
    }, 5 * MINUTES);

    it('as CycloneDX 1.5: valid (CycloneDX\'s own validator), and every package is in it', async () => {
      const r = await scan(c);
      const bom = JSON.parse(formatScan(r, 'cyclonedx')) as { components: { type: string }[] };
      expect(await validateCycloneDx15(bom)).toEqual([]);
      expect(bom.components.filter((x) => x.type === 'library')).toHaveLength(sbomPackages(r).length);
    }, 5 * MINUTES);
  });
});
