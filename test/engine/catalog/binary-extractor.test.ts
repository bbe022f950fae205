/**
 * Go and Rust (cargo-auditable) binaries found by content anywhere in the tree (issue 14 item 4),
 * through the CLI's `dir:` path (scanDirectory → captureRules → ExecutableExtractor → catalogers).
 * Witnesses: the host's Go toolchain (`go version -m`, golang-go from bookworm) for Go binaries —
 * Debian's containernetworking-plugins (/usr/lib/cni/*) and a binary built here with a `=> ../lib`
 * replacement — and binutils' `objcopy` placing a `.dep-v0` section into a real ELF for Rust (no
 * bookworm package is built with cargo-auditable: the JSON follows the documented format,
 * cargo-auditable.schema.json, and is not taken from a real binary).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { ExecutableExtractor } from '../../../lib/engine/catalog/binary-extractor';
import { BUILDINFO_MAGIC, GO_BUILDINFO_WINDOW_BYTES, GO_WHOLE_BINARY_BYTES, isBuildInfoWindow } from '../../../lib/engine/catalog/golang/buildinfo';
import { goVersionToSemver } from '../../../lib/engine/catalog/golang';
import { DEFAULT_LIMITS } from '../../../lib/engine/limits';
import { scanImage } from '../../../lib/engine/scan-image';
import { buildImage } from '../../../lib/local/builder/image-builder';
import { scanDirectory } from '../../../lib/local/dir-target';
import { emptyAdvisories } from '../../helpers/advisories';
import { MemorySource } from '../../helpers/memory-source';
import { debFileList, fetchDeb, unpackDeb } from '../../helpers/deb-fixture';
import { elfWith } from './elf';

jest.setTimeout(300_000);

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** `go version -m <file>`: the toolchain and the module lines, or undefined for a file Go does not read. */
function goVersionM(file: string): { go: string; lines: string[][] } | undefined {
  // `go version -m` exits 0 for a file it cannot read and says so on stderr: a Go binary is a
  // `<file>: go1.x` line on stdout.
  const r = run('go', ['version', '-m', file]);
  if (r.code !== 0 || !r.out.startsWith(`${file}: `)) return undefined;
  const [first, ...rest] = r.out.split('\n');
  return { go: first!.slice(first!.indexOf(': ') + 2).trim(), lines: rest.filter((l) => l.startsWith('\t')).map((l) => l.slice(1).split('\t')) };
}

async function scan(root: string) {
  return (await scanDirectory(root, { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() })).images[0]!;
}

function feed(x: ExecutableExtractor, body: Buffer, chunk: number): ReturnType<ExecutableExtractor['end']> {
  for (let i = 0; i < body.length; i += chunk) x.write(body.subarray(i, i + chunk));
  return x.end();
}

describe('ExecutableExtractor: keeps a body only when it is a Go or cargo-auditable binary', () => {
  const dep = deflateSync(Buffer.from('{"packages":[{"name":"ripgrep","version":"14.1.0","source":"crates.io","root":true}]}'));
  const trueBin = readFileSync('/usr/bin/true');
  it.each([
    { name: 'a text file', body: Buffer.from('#!/bin/sh\necho hello, this is not a binary at all\n'.repeat(4)), kept: false },
    { name: 'a C program (Debian /usr/bin/true)', body: trueBin, kept: false },
    { name: 'an ELF with .dep-v0', body: elfWith(dep), kept: true },
    { name: 'a file of 3 bytes', body: Buffer.from('\x7fEL', 'latin1'), kept: false },
  ])('$name', ({ body, kept }) => {
    for (const chunk of [1, 3, 4096]) {
      const r = feed(new ExecutableExtractor(body.length), body, chunk);
      expect(r === undefined ? 'dropped' : r.body.equals(body) && !r.truncated ? 'kept whole' : 'other').toBe(kept ? 'kept whole' : 'dropped');
    }
  });
});

describe('ExecutableExtractor over GO_WHOLE_BINARY_BYTES: a window from the build info, never the binary', () => {
  const size = GO_WHOLE_BINARY_BYTES + 4096;
  const big = (withGo: boolean): Buffer => {
    const b = Buffer.alloc(size);
    Buffer.from('\x7fELF\x02\x01\x01', 'latin1').copy(b, 0);
    if (withGo) Buffer.concat([BUILDINFO_MAGIC, Buffer.from([8, 2]), Buffer.alloc(16), Buffer.from([8]), Buffer.from('go1.22.5'), Buffer.from([0])]).copy(b, GO_WHOLE_BINARY_BYTES - 1024);
    return b;
  };
  it('a Go binary keeps its build info window', () => {
    const kept = feed(new ExecutableExtractor(size), big(true), 1 << 20);
    expect(kept?.truncated).toBe(true);
    expect(kept!.body.length).toBeLessThanOrEqual(GO_BUILDINFO_WINDOW_BYTES);
    expect(isBuildInfoWindow(kept!.body)).toBe(true);
  });
  it('another executable keeps nothing', () => expect(feed(new ExecutableExtractor(size), big(false), 1 << 20)).toBeUndefined());
});

describe('Debian containernetworking-plugins: Go binaries in /usr/lib/cni', () => {
  const deb = fetchDeb('containernetworking-plugins');
  let root = '';
  beforeAll(() => { root = unpackDeb(deb); });
  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('every file `go version -m` reads is a Go binary of the scan, with its stdlib version', async () => {
    const truth = new Map<string, string>();
    for (const p of debFileList(deb)) {
      const w = goVersionM(join(root, p));
      if (w) truth.set(p, `stdlib@${goVersionToSemver(w.go)}`);
    }
    expect([...truth.keys()].filter((p) => p.startsWith('/usr/lib/cni/')).length).toBeGreaterThanOrEqual(10);
    expect([...truth.keys()]).toContain('/usr/lib/cni/bridge');
    const r = await scan(root);
    const got = new Map<string, string>();
    for (const p of r.packages.filter((x) => x.cataloger?.name === 'go-binary' && x.name === 'stdlib')) {
      for (const l of p.locations) got.set(l.path, `stdlib@${p.version}`);
    }
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...truth].sort()));
    expect(r.unknowns.filter((u) => u.consumer === 'go-binary')).toEqual([]);
  });

  it('in an image layer too (the tar stream path); a hardlink to it shares the body its target kept', async () => {
    const bridge = readFileSync(join(root, 'usr/lib/cni/bridge'));
    const w = goVersionM(join(root, 'usr/lib/cni/bridge'))!;
    const image = buildImage({ layers: [{ entries: [
      { path: 'usr/lib/cni/bridge', body: bridge, mode: 0o755 },
      { path: 'opt/cni/bridge-link', type: 'hardlink', linkname: 'usr/lib/cni/bridge' },
      { path: 'usr/lib/x86_64-linux-gnu/libfake.so.1', body: readFileSync('/usr/bin/true') },
    ] }] });
    const img = (await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories() })).images[0]!;
    const go = img.packages.filter((p) => p.cataloger?.name === 'go-binary');
    // `/opt/cni/bridge-link` is a path the Go cataloger wants by name: it takes the body the target's
    // extractor kept (no second pass over the layer); the `.so` (a C ELF) is dropped.
    expect(go.map((p) => `${p.name}@${p.version} ${p.locations.map((l) => l.path).join(',')}`).sort())
      .toEqual([`stdlib@${goVersionToSemver(w.go)} /opt/cni/bridge-link`, `stdlib@${goVersionToSemver(w.go)} /usr/lib/cni/bridge`]);
    expect(img.unknowns.filter((u) => u.consumer === 'go-binary' || u.consumer === 'cargo-auditable')).toEqual([]);
  });
});

describe('a Go binary built here, outside any bin directory, with a `=> ../lib` replacement', () => {
  let tmp = '';
  let root = '';
  const bin = '/usr/lib/example/plugin';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'trustctl-gobuild-'));
    root = join(tmp, 'root');
    const w = (p: string, t: string): void => { mkdirSync(dirname(join(tmp, p)), { recursive: true }); writeFileSync(join(tmp, p), t); };
    w('lib/go.mod', 'module example.com/lib\n\ngo 1.19\n');
    w('lib/lib.go', 'package lib\n\nfunc Hello() string { return "hi" }\n');
    w('app/go.mod', 'module example.com/app\n\ngo 1.19\n\nrequire example.com/lib v0.0.0-00010101000000-000000000000\n\nreplace example.com/lib => ../lib\n');
    w('app/main.go', 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/lib"\n)\n\nfunc main() { fmt.Println(lib.Hello()) }\n');
    mkdirSync(dirname(join(root, bin)), { recursive: true });
    const env = { ...process.env, GOPROXY: 'off', GOFLAGS: '-buildvcs=false', GOCACHE: join(tmp, 'cache'), GOPATH: join(tmp, 'gopath'), HOME: tmp };
    const r = run('go', ['build', '-o', join(root, bin), '.'], { cwd: join(tmp, 'app'), env });
    if (r.code !== 0) throw new Error(`go build failed: ${r.err}`);
  });
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('the replaced module is reported under its module path at (devel), never under the directory', async () => {
    const w = goVersionM(join(root, bin))!;
    // The witness: `dep example.com/lib v0.0.0-…` then `=> ../lib (devel)`.
    const depAt = w.lines.findIndex((l) => l[0] === 'dep' && l[1] === 'example.com/lib');
    expect(w.lines[depAt + 1]?.slice(0, 3)).toEqual(['=>', '../lib', '(devel)']);
    expect(w.lines.find((l) => l[0] === 'mod')?.slice(1, 3)).toEqual(['example.com/app', '(devel)']);
    const r = await scan(root);
    const go = r.packages.filter((p) => p.cataloger?.name === 'go-binary');
    expect(go.map((p) => `${p.name}@${p.version}`).sort()).toEqual(['example.com/app@(devel)', 'example.com/lib@(devel)', `stdlib@${goVersionToSemver(w.go)}`].sort());
    expect(go.find((p) => p.name === 'example.com/lib')?.purl).toMatch(/^pkg:golang\/example\.com\/lib@/);
    expect(r.unknowns.filter((u) => u.consumer === 'go-binary')).toEqual([]);
    expect(r.packages.every((p) => p.locations.every((l) => l.path === bin))).toBe(true);
  });
});

describe('a cargo-auditable section in a real ELF outside any bin directory', () => {
  let tmp = '';
  const path = '/usr/lib/rustapp/helper';
  const json = {
    packages: [
      { name: 'helper', version: '0.3.1', source: 'local', root: true, dependencies: [1, 2] },
      { name: 'regex', version: '1.10.4', source: 'crates.io', dependencies: [] },
      { name: 'smallvec', version: '1.13.2', source: 'crates.io' },
      { name: 'cc', version: '1.0.94', source: 'crates.io', kind: 'build' },
    ],
  };
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'trustctl-rust-'));
    const payload = join(tmp, 'dep-v0');
    writeFileSync(payload, deflateSync(Buffer.from(JSON.stringify(json))));
    mkdirSync(dirname(join(tmp, 'root', path)), { recursive: true });
    copyFileSync('/usr/bin/true', join(tmp, 'plain'));
    const r = run('objcopy', ['--add-section', `.dep-v0=${payload}`, join(tmp, 'plain'), join(tmp, 'root', path)]);
    if (r.code !== 0) throw new Error(`objcopy failed: ${r.err}`);
  });
  afterAll(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  it('its runtime crates are cargo packages of the scan', async () => {
    expect(run('readelf', ['-S', join(tmp, 'root', path)]).out).toContain('.dep-v0');
    const r = await scan(join(tmp, 'root'));
    expect(r.packages.filter((p) => p.cataloger?.name === 'cargo-auditable').map((p) => p.purl).sort())
      .toEqual(['pkg:cargo/helper@0.3.1', 'pkg:cargo/regex@1.10.4', 'pkg:cargo/smallvec@1.13.2']);
  });
});
