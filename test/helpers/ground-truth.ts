/**
 * Ground truth for issue 13 ("Done when"): what the scanner reports, compared with what the real
 * tools say about the same tree — `dpkg-query -W` for a Debian root's package database, `npm ls --all`
 * for a checkout's node_modules — and every unknown sorted by class. Shared by the ground-truth tests
 * (test/ground-truth/*.test.ts) and the bench (bench/debian-root/run.ts), so both judge with the same code.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, type LayerSpec, type HostFileSpec } from '../../lib/local/builder/image-builder';
import { writeOciArchive } from '../../lib/local/builder/writers';
import { UNKNOWN_CLASSES, unknownClass, type UnknownClass } from '../../lib/engine/model/unknown';

/** The checkout (this file is test/helpers/ground-truth.ts). */
export const REPO = join(__dirname, '..', '..');

/** The script that builds (or finds) the cached Debian root. */
export const DEBIAN_ROOT_SCRIPT = join(REPO, 'scripts', 'debian-root.sh');

/** Where the cached root would be (`scripts/debian-root.sh --path`); builds nothing. */
export function debianRootPath(): string {
  const r = spawnSync('bash', [DEBIAN_ROOT_SCRIPT, '--path'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`debian-root.sh --path failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** The cached root's build record (`build.txt` beside `root/`), as key=value pairs. */
export function debianRootBuildInfo(root: string): Record<string, string> {
  const text = readFileSync(join(root, '..', 'build.txt'), 'utf8');
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** One package as dpkg-query prints it. */
export interface DpkgRow {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  /** `db:Status-Abbrev`, e.g. `ii `. */
  readonly status: string;
}

/** The key packages are compared by: name, version (with epoch) and architecture. */
export function dpkgKey(p: { name: string; version: string; arch?: string }): string {
  return `${p.name} ${p.version} ${p.arch ?? '?'}`;
}

/**
 * `dpkg-query --admindir=<root>/var/lib/dpkg -W`: the root's own package database read by dpkg itself,
 * without chrooting (the root is read, never modified).
 */
export function dpkgQuery(root: string): DpkgRow[] {
  const r = spawnSync('dpkg-query', [`--admindir=${join(root, 'var', 'lib', 'dpkg')}`, '-W', '-f', '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`dpkg-query failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const [name, version, arch, status] = l.split('\t');
    return { name, version, arch, status };
  });
}

/** A package of the scan's JSON report (the fields compared here). */
export interface ReportPackage {
  readonly ecosystem: string;
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  readonly purl?: string;
  readonly locations?: readonly { layer: string; path: string }[];
}

/** An unknown of the scan's JSON report. */
export interface ReportUnknown {
  readonly layer: string;
  readonly path: string;
  readonly reason: string;
  readonly class?: string;
  readonly consumer?: string;
}

/** The parts of `trustctl scan --format json` this harness reads. */
export interface ScanReport {
  readonly image: { ref: string; digest: string };
  readonly verdict: { status: string; reasons?: readonly { rule: string; message: string }[] };
  readonly packages: readonly ReportPackage[];
  readonly unknowns: readonly ReportUnknown[];
}

/** The dpkg inventory of a scan compared with dpkg-query's. */
export interface DpkgComparison {
  readonly expected: number;
  readonly reported: number;
  readonly matched: number;
  /** In dpkg-query, not in the scan (`name version arch`). */
  readonly missing: string[];
  /** In the scan, not in dpkg-query. */
  readonly extra: string[];
  /** dpkg-query rows not fully installed (`ii`): what a scanner may rightly leave out, listed so a difference can be explained. */
  readonly notInstalled: string[];
}

/** Compares the scan's Debian packages with dpkg-query's rows (name, version, architecture). */
export function compareDpkg(expected: readonly DpkgRow[], report: ScanReport): DpkgComparison {
  const want = new Set(expected.map(dpkgKey));
  const got = new Set(report.packages.filter((p) => p.ecosystem === 'Debian').map(dpkgKey));
  return {
    expected: want.size,
    reported: got.size,
    matched: [...want].filter((k) => got.has(k)).length,
    missing: [...want].filter((k) => !got.has(k)).sort(),
    extra: [...got].filter((k) => !want.has(k)).sort(),
    notInstalled: expected.filter((r) => r.status.trim() !== 'ii').map((r) => `${dpkgKey(r)} [${r.status.trim()}]`),
  };
}

/** Unknowns grouped by class (the judged class: absent ⇒ `parse-error`), each group with a few examples. */
export interface UnknownSummary {
  readonly total: number;
  /** Every class but `note`: what could hide content or packages. */
  readonly hiding: number;
  readonly byClass: Partial<Record<UnknownClass, { count: number; unclassified: number; examples: string[]; reasons: Record<string, number> }>>;
}

/** Sorts a report's unknowns by class, with up to `examples` `path: reason (consumer)` lines each. */
export function summariseUnknowns(unknowns: readonly ReportUnknown[], examples = 8): UnknownSummary {
  const byClass: UnknownSummary['byClass'] = {};
  let hiding = 0;
  for (const u of unknowns) {
    const c = unknownClass(u as { class?: UnknownClass });
    if (c !== 'note') hiding++;
    const g = (byClass[c] ??= { count: 0, unclassified: 0, examples: [], reasons: {} });
    g.count++;
    // Reasons name the consumer and the cause, not the path: a handful of distinct ones per class.
    const reason = `${u.consumer ? `${u.consumer}: ` : ''}${u.reason.replace(/\d+/g, 'N')}`;
    g.reasons[reason] = (g.reasons[reason] ?? 0) + 1;
    if (u.class === undefined) g.unclassified++;
    if (g.examples.length < examples) g.examples.push(`${u.path}: ${u.reason}${u.consumer ? ` (${u.consumer})` : ''}`);
  }
  return { total: unknowns.length, hiding, byClass };
}

/** Prints an {@link UnknownSummary} as indented lines, classes in the report order. */
export function formatUnknowns(s: UnknownSummary): string {
  const lines = [`unknowns: ${s.total} (${s.hiding} could hide content or packages)`];
  for (const c of UNKNOWN_CLASSES) {
    const g = s.byClass[c];
    if (!g) continue;
    lines.push(`  ${c}: ${g.count}${g.unclassified ? ` (${g.unclassified} without a class, judged parse-error)` : ''}`);
    const reasons = Object.entries(g.reasons).sort((a, b) => b[1] - a[1]);
    for (const [r, n] of reasons.slice(0, 10)) lines.push(`    ${String(n).padStart(6)} × ${r.length > 160 ? `${r.slice(0, 160)}…` : r}`);
    if (reasons.length > 10) lines.push(`    … ${reasons.length - 10} more distinct reasons`);
    lines.push('    e.g.');
    for (const e of g.examples) lines.push(`    ${e.length > 200 ? `${e.slice(0, 200)}…` : e}`);
  }
  return lines.join('\n');
}

/**
 * Splits a root into the layers a Dockerfile would have produced, as host-file specs for the image
 * builder (lib/local/builder): `FROM debian:bookworm` (everything but what the later layers bring,
 * with a dpkg status listing only the Priority required/important packages — the base image's own
 * database), `RUN apt-get install python3 nodejs npm` (the Python and Node trees), and `RUN apt-get
 * install default-jre-headless libcommons-lang3-java age fzf` (the JVM, the jars, the Go binaries, and
 * the complete dpkg database, which shadows the base layer's status). The base status is written to
 * `work` (a temp dir). Later layers bring their parent directories (mode 0755), as tar layers do.
 * `squashed`: the whole root as one layer instead.
 */
export function rootLayers(root: string, work: string, opts: { squashed?: boolean } = {}): LayerSpec[] {
  const langs = ['usr/lib/python3', 'usr/lib/python3.11', 'usr/share/nodejs', 'usr/lib/nodejs', 'usr/include/node'];
  const jvmGo = ['usr/lib/jvm', 'usr/share/java', 'etc/java-17-openjdk', 'usr/bin/age', 'usr/bin/age-keygen', 'usr/bin/fzf', 'var/lib/dpkg'];
  const exists = (rel: string): boolean => {
    try {
      lstatSync(join(root, rel));
      return true;
    } catch {
      return false;
    }
  };
  const spec = (rel: string): HostFileSpec => ({ hostPath: join(root, rel), imagePath: `/${rel}` });
  // Everything under `rel` except the excluded paths: a directory holding an excluded path is expanded.
  const except = (excluded: readonly string[], rel = ''): HostFileSpec[] => {
    const out: HostFileSpec[] = [];
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (excluded.includes(path)) continue;
      if (excluded.some((x) => x.startsWith(`${path}/`))) out.push(...except(excluded, path));
      else out.push(spec(path));
    }
    return out;
  };
  // One layer holding the whole root, as `docker export | docker import` or a squashed build makes it.
  if (opts.squashed) return [{ fromHost: except([]), createdBy: 'squashed rootfs (debootstrap + apt-get install, one layer)' }];
  const status = readFileSync(join(root, 'var', 'lib', 'dpkg', 'status'), 'utf8');
  // Stanzas kept byte for byte: only which packages are listed differs from the real database.
  const base = status.split(/\n{2,}/).filter((s) => /^Priority: (required|important)$/m.test(s));
  const baseStatus = join(work, 'base-status');
  writeFileSync(baseStatus, `${base.join('\n\n')}\n`);
  return [
    { fromHost: [...except([...langs, ...jvmGo]), { hostPath: baseStatus, imagePath: '/var/lib/dpkg/status' }], createdBy: 'FROM debian:bookworm (debootstrap --variant=minbase)' },
    { fromHost: langs.filter(exists).map(spec), createdBy: 'RUN apt-get install -y python3 python3-pip nodejs npm' },
    { fromHost: jvmGo.filter(exists).map(spec), createdBy: 'RUN apt-get install -y default-jre-headless libcommons-lang3-java age fzf' },
  ];
}

/** The root as a three-layer image ({@link rootLayers}), written as an OCI archive in `work`. */
export interface RootImage {
  readonly file: string;
  readonly target: string;
  readonly digest: string;
  readonly seconds: number;
  /** Per layer: created_by, compressed and uncompressed bytes. */
  readonly layers: { createdBy: string; compressed: number; uncompressed: number }[];
}

/**
 * Builds the root's image with our own builder (lib/local/builder) — three layers, or one when
 * `squashed` — and writes it to `work/debian-root[-squashed].oci.tar`.
 */
export async function writeRootImage(root: string, work: string, opts: { squashed?: boolean } = {}): Promise<RootImage> {
  const t0 = Date.now();
  const specs = rootLayers(root, work, opts);
  const image = buildImage({ layers: specs, config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] } });
  const file = join(work, opts.squashed ? 'debian-root-squashed.oci.tar' : 'debian-root.oci.tar');
  await writeOciArchive(file, image, { tag: 'ground-truth' });
  return {
    file, target: `oci-archive:${file}`, digest: image.root.digest, seconds: (Date.now() - t0) / 1000,
    layers: image.images[0].layers.map((l, i) => ({ createdBy: specs[i].createdBy ?? '', compressed: l.descriptor.size, uncompressed: l.tar.length })),
  };
}

/** A CLI run in a child process under `/usr/bin/time -v`. */
export interface MeasuredRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  /** Peak resident set size of the process (GNU time "Maximum resident set size"), in KiB. */
  readonly maxRssKiB: number;
}

/**
 * Runs `trustctl <args>` as a user would — its own Node process (`node --import tsx bin/trustctl.ts`)
 * — under GNU time, so the peak RSS is the scan's own and not the harness's.
 */
export function runTrustctlMeasured(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, '--import', 'tsx', join(REPO, 'bin', 'trustctl.ts'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const status = /Exit status: (\d+)/.exec(stderr);
      resolve({
        code: status ? Number(status[1]) : code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        wallSeconds: Number(process.hrtime.bigint() - start) / 1e9,
        maxRssKiB: rss ? Number(rss[1]) : NaN,
      });
    });
  });
}

/** One package `npm ls --all --json --long` knows, with how npm sees it. */
export interface NpmLsPackage {
  /** The package's own name (an alias `"x": "npm:y@1"` is listed by npm under `x`; this is `y`). */
  readonly name: string;
  readonly version: string;
  /** The dependency key npm lists it under when that differs from its name (an npm alias). */
  readonly alias?: string;
  /** Where it is installed (absolute), when npm says. */
  readonly path?: string;
  /** npm's own flags on the node: extraneous, missing, invalid, peerMissing. */
  readonly flags: string[];
  /** The dependency path that led to it (first seen). */
  readonly via: string;
}

interface NpmLsNode {
  name?: string;
  version?: string;
  path?: string;
  missing?: boolean;
  extraneous?: boolean;
  invalid?: boolean;
  peerMissing?: boolean;
  dependencies?: Record<string, NpmLsNode>;
}

/**
 * `npm ls --all --json --long` in `dir`: every name@version in the logical tree (the root package too),
 * deduplicated, under the package's own name (aliases resolved) with its install path. npm exits 1
 * when the tree has problems (extraneous, invalid, missing) and still prints the tree; that exit code
 * is ignored and the problems kept as flags.
 */
export function npmLs(dir: string): Map<string, NpmLsPackage> {
  const r = spawnSync('npm', ['ls', '--all', '--json', '--long'], { cwd: dir, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (!r.stdout) throw new Error(`npm ls printed nothing (exit ${r.status}): ${r.stderr}`);
  const tree = JSON.parse(r.stdout) as NpmLsNode;
  const out = new Map<string, NpmLsPackage>();
  const visit = (key: string, node: NpmLsNode, via: string): void => {
    const flags = (['missing', 'extraneous', 'invalid', 'peerMissing'] as const).filter((f) => node[f]);
    const name = node.name ?? key;
    if (node.version) {
      const id = `${name}@${node.version}`;
      if (!out.has(id)) out.set(id, { name, version: node.version, ...(name !== key ? { alias: key } : {}), ...(node.path ? { path: node.path } : {}), flags, via });
    } else if (flags.length) {
      out.set(`${name}@(missing)`, { name, version: '', flags, via });
    }
    for (const [child, sub] of Object.entries(node.dependencies ?? {})) visit(child, sub, `${via} > ${child}`);
  };
  visit(tree.name ?? '(root)', tree, tree.name ?? '(root)');
  return out;
}

/** The npm packages of a scan compared with `npm ls`, each difference with its reason. */
export interface NpmComparison {
  readonly npmLs: number;
  readonly reported: number;
  readonly matched: number;
  /**
   * In `npm ls`, not in the scan. `why` is the scan's own account — the unknowns it recorded at the
   * package's directory (`class: reason`) — or npm's flag, or `silently missed` when neither explains it.
   */
  readonly missing: { key: string; why: string; explained: boolean; via: string }[];
  /** In the scan, not in `npm ls`, with where the scan found it and why npm does not list it. */
  readonly extra: { key: string; where: string; why: string }[];
}

const LOCKFILE = /(^|\/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml)$/;

/**
 * Compares the scan's npm packages (name@version) with `npm ls`'s; `scanned` is the directory the
 * scan read (`dir:<scanned>`), to find the scan's unknowns at each missing package's directory.
 */
export function compareNpm(ls: ReadonlyMap<string, NpmLsPackage>, report: ScanReport, scanned: string): NpmComparison {
  const got = new Map<string, ReportPackage>();
  for (const p of report.packages) if (p.ecosystem === 'npm') got.set(`${p.name}@${p.version}`, p);
  const unknownsAt = new Map<string, ReportUnknown[]>();
  for (const u of report.unknowns) {
    const dir = u.path.slice(0, u.path.lastIndexOf('/'));
    unknownsAt.set(dir, [...(unknownsAt.get(dir) ?? []), u]);
  }
  const base = scanned.replace(/\/+$/, '');
  const missing = [...ls].filter(([k]) => !got.has(k)).map(([key, p]) => {
    if (p.path === base) return { key, why: 'the scanned project itself (npm ls\'s root), not an installed package', explained: true, via: p.via };
    const rel = p.path?.startsWith(`${base}/`) ? p.path.slice(base.length) : undefined;
    const us = (rel !== undefined ? unknownsAt.get(rel)?.filter((u) => unknownClass(u as { class?: UnknownClass }) !== 'note') : undefined) ?? [];
    const why = us.length
      ? us.map((u) => `${unknownClass(u as { class?: UnknownClass })}: ${u.path}: ${u.reason}`).join('; ')
      : p.flags.length ? `npm: ${p.flags.join(', ')}` : rel === undefined ? `installed outside ${base} (${p.path ?? 'no path'})` : 'silently missed (no unknown at its directory)';
    return { key: p.alias ? `${key} (as ${p.alias})` : key, why, explained: us.length > 0 || p.flags.includes('missing'), via: p.via };
  }).sort((a, b) => a.key.localeCompare(b.key));
  const extra = [...got].filter(([k]) => !ls.has(k)).map(([key, p]) => {
    const where = (p.locations ?? []).map((l) => l.path).join(', ');
    const why = (p.locations ?? []).every((l) => LOCKFILE.test(l.path))
      ? 'declared by a lockfile inside the tree, not installed here (npm ls reads only the installed tree)'
      : 'installed (package.json) but not in npm ls (bundled or nested outside the dependency graph?)';
    return { key, where, why };
  }).sort((a, b) => a.key.localeCompare(b.key));
  return { npmLs: ls.size, reported: got.size, matched: [...ls.keys()].filter((k) => got.has(k)).length, missing, extra };
}
