/**
 * Jars from real Debian packages (issue 14 item 4), scanned with the CLI's `dir:` path. The truth is
 * read with Info-ZIP's `unzip` from the jar itself: whether it holds a `pom.properties` (then its
 * Maven coordinates are known) and, if not, its manifest's `Implementation-Version`.
 * libcommons-collections3-java ships a jar without pom.properties (it was reported as the made-up
 * `org.apache:Commons-Collections`); libcommons-lang3-java ships one with it.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../../../lib/engine/limits';
import { scanDirectory } from '../../../../lib/local/dir-target';
import { emptyAdvisories } from '../../../helpers/advisories';
import { debFileList, fetchDeb, unpackDeb } from '../../../helpers/deb-fixture';

jest.setTimeout(180_000);

function unzip(args: string[]): string {
  const r = spawnSync('unzip', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`unzip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe.each([
  { pkg: 'libcommons-collections3-java', pom: false },
  { pkg: 'libcommons-lang3-java', pom: true },
])('Debian $pkg', ({ pkg, pom }) => {
  const deb = fetchDeb(pkg);
  let root = '';
  beforeAll(() => { root = unpackDeb(deb); });
  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it(pom ? 'a jar with pom.properties is a Maven package under its coordinates' : 'a MANIFEST.MF-only jar is a package with unknown coordinates and a note, never Maven coordinates', async () => {
    const jars = debFileList(deb).filter((p) => p.endsWith('.jar'));
    expect(jars).toHaveLength(1);
    const jar = jars[0]!;
    const entries = unzip(['-Z1', join(root, jar)]).split('\n');
    const props = entries.filter((e) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(e));
    expect(props.length > 0).toBe(pom);
    const r = (await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() })).images[0]!;
    const found = r.packages.filter((p) => p.cataloger?.name === 'java-archive');
    const notes = r.unknowns.filter((u) => u.consumer === 'java-archive');
    if (pom) {
      const kv = Object.fromEntries(unzip(['-p', join(root, jar), props[0]!]).split(/\r?\n/).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(found.map((p) => `${p.name}@${p.version} ${p.purl}`)).toEqual([`${kv.groupId}:${kv.artifactId}@${kv.version} pkg:maven/${kv.groupId}/${kv.artifactId}@${kv.version}`]);
      expect(notes).toEqual([]);
    } else {
      const mf = unzip(['-p', join(root, jar), 'META-INF/MANIFEST.MF']);
      const version = /^Implementation-Version: (.+?)\r?$/m.exec(mf)![1]!;
      const name = jar.slice(jar.lastIndexOf('/') + 1).replace(/\.jar$/, '').replace(/-\d[\w.+-]*$/, '');
      expect(found.map((p) => `${p.ecosystem} ${p.name}@${p.version} ${p.purl}`)).toEqual([`Maven ${name}@${version} pkg:generic/${name}@${version}`]);
      // Never Maven coordinates made from manifest headers (`org.apache:Commons-Collections`).
      expect(found.some((p) => p.name.includes(':') || p.purl.startsWith('pkg:maven/'))).toBe(false);
      expect(notes).toEqual([expect.objectContaining({ path: jar, class: 'note', reason: expect.stringContaining('Maven coordinates unknown') })]);
    }
  });
});
