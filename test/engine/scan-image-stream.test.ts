import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { scanImage } from '../../lib/engine/scan-image';
import { createMalwareCheck } from '../../lib/engine/checks/malware';
import { EICAR_SIGNATURE_NAME, EICAR_STRING } from '../../lib/engine/checks/malware/signatures';
import { createSecretsFileCheck } from '../../lib/engine/checks/secrets';
import { buildImage } from '../../lib/local/builder/image-builder';
import { MemorySource } from '../helpers/memory-source';
import { emptyAdvisories } from '../helpers/advisories';

/**
 * Issue 13 items 2–3 at the scan level: what the runtime extracts (a hardlink's bytes, every member of
 * a path that repeats, a Go binary of any size) is what the catalogers and checks examine.
 */
const advisories = emptyAdvisories();
const EICAR = Buffer.from(EICAR_STRING, 'latin1');
const MiB = 1024 * 1024;
const stanza = (name: string, version: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;
const debian = { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' };

describe('scanImage: hardlinks (RELIABILITY.md 48, 52)', () => {
  it.each<[string, 'before' | 'after']>([
    ['the status file is the hardlink, its target an unwanted path', 'before'],
    ['the target is the status file, the hardlink an unwanted path', 'after'],
  ])('a dpkg database behind a same-layer hardlink is catalogued: %s', async (_n, order) => {
    const status = stanza('bash', '5.2.15-2+b2') + stanza('libssl3', '3.0.11-1~deb12u2');
    const entries = order === 'before'
      ? [debian, { path: 'x', body: status }, { path: 'var/lib/dpkg/status', type: 'hardlink' as const, linkname: 'x' }]
      : [debian, { path: 'var/lib/dpkg/status', body: status }, { path: 'x', type: 'hardlink' as const, linkname: 'var/lib/dpkg/status' }];
    const src = MemorySource.fromBuilt(buildImage({ layers: [{ entries }] }));
    const img = (await scanImage(src, { limits: DEFAULT_LIMITS, advisories })).images[0];
    expect(img.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(['bash@5.2.15-2+b2', 'libssl3@3.0.11-1~deb12u2']);
    expect(img.unknowns.filter((u) => u.class !== 'note')).toEqual([]);
  });

  it('a hardlink to a lower layer\'s file that a cataloger wants is a body-not-read unknown naming the cataloger (never a silent 0 packages)', async () => {
    const image = buildImage({ layers: [
      { entries: [debian, { path: 'x', body: stanza('bash', '5.2.15-2+b2') }] },
      { entries: [{ path: 'var/lib/dpkg/status', type: 'hardlink', linkname: 'x' }] },
    ] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories })).images[0];
    expect(img.unknowns).toContainEqual(expect.objectContaining({ path: '/var/lib/dpkg/status', class: 'body-not-read', consumer: 'dpkg-db' }));
  });

  it('EICAR reached only through a hardlink name is found (its bytes are the target\'s, streamed as the target)', async () => {
    const image = buildImage({ layers: [{ entries: [{ path: 'usr/share/doc/x/blob', body: EICAR }, { path: 'usr/local/bin/run', type: 'hardlink', linkname: 'usr/share/doc/x/blob' }] }] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories, checks: [createMalwareCheck()] })).images[0];
    expect(img.findings.filter((f) => f.type === 'malware').map((f) => [f.id, f.path])).toEqual([[EICAR_SIGNATURE_NAME, '/usr/share/doc/x/blob']]);
    expect(img.verdict.status).toBe('quarantined');
  });
});

describe('scanImage: a path that appears several times in one layer (RELIABILITY.md 53)', () => {
  it('every member\'s body is checked, though the tree keeps only the last: EICAR and a key in the earlier members are reported', async () => {
    const key = 'gh' + 'p_' + 'FAKE0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, 36);
    const image = buildImage({ layers: [{ entries: [
      { path: 'app/run', body: EICAR },
      { path: 'app/.env', body: `GITHUB_TOKEN=${key}\n` },
      { path: 'app/run', body: '#!/bin/sh\necho clean\n', mode: 0o755 },
      { path: 'app/.env', body: 'NODE_ENV=production\n' },
    ] }] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories, checks: [createMalwareCheck(), createSecretsFileCheck()] })).images[0];
    expect(img.findings.filter((f) => f.type !== 'vulnerability' && f.type !== 'unscannable').map((f) => [f.type, f.id, f.path])).toEqual([
      ['malware', EICAR_SIGNATURE_NAME, '/app/run'],
      ['secret', 'github-token', '/app/.env'],
    ]);
  });
});

describe('Go build info from a binary over the old 64 MiB read cap (issue 13 item 2)', () => {
  let dir: string;
  let bin: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trustctl-gobin-'));
    writeFileSync(join(dir, 'go.mod'), 'module example.com/padded\n\ngo 1.19\n');
    writeFileSync(join(dir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n');
    const r = spawnSync('go', ['build', '-o', join(dir, 'app'), '.'], {
      cwd: dir, encoding: 'utf8',
      env: { ...process.env, GOTOOLCHAIN: 'local', GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'gopath'), GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    });
    if (r.status !== 0) throw new Error(`go build failed (install golang-go): ${r.error?.message ?? ''} ${r.stderr}`);
    bin = readFileSync(join(dir, 'app'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a real Go binary padded to 90 MiB keeps its module list (main module and stdlib), with no unknown', async () => {
    const padded = Buffer.concat([bin, Buffer.alloc(90 * MiB - bin.length)]);
    const src = MemorySource.fromBuilt(buildImage({ layers: [{ entries: [{ path: 'usr/local/bin/app', body: padded, mode: 0o755 }] }] }));
    const img = (await scanImage(src, { limits: DEFAULT_LIMITS, advisories })).images[0];
    const goVersion = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).stdout.trim();
    expect(img.packages.map((p) => `${p.ecosystem}/${p.name}@${p.version}`).sort()).toEqual(['Go/example.com/padded@(devel)', `Go/stdlib@${goVersion.replace(/^go(\d+\.\d+)(?:\.(\d+))?$/, (_m, a: string, b?: string) => `v${a}.${b ?? '0'}`)}`].sort());
    expect(img.unknowns).toEqual([]);
  }, 60_000);
});
