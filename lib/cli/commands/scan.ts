import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option } from 'commander';
import { parsePolicy, type Policy } from '../../engine/policy/schema';
import { resolveLimits, type Limits } from '../../engine/limits';
import { hidesContent, parsePlatform, shortDigest, unknownClass, type Digest, type Finding, type Platform } from '../../engine/model';
import { scanImage, type AdvisorySource, type ScanOptions, type ScanResult } from '../../engine/scan-image';
import { advisoriesForScan } from '../advisories';
import type { LayerCache } from '../../engine/ports';
import { scanDirectory } from '../../local/dir-target';
import { defaultCacheDir, FileLayerCache } from '../../local/layer-cache';
import { toCycloneDx } from '../format/cyclonedx';
import { isKnownExploited, osName, toScanReport } from '../format/report';
import { toSpdx } from '../format/spdx';
import { toSarif } from '../format/sarif';
import { renderTable } from '../format/table';
import { ExitCode } from '../exit-codes';
import { type CliContext, limitOption } from '../main';
import { UsageError } from '../usage-error';
import { cliCredentialProvider, isArchiveTarget, openTarget, TARGET_HELP } from '../targets';
import { allChecks } from '../../engine/checks/checks';
import type { LayerWorkerSpec } from '../../engine/layer-worker/wire';
import type { Check } from '../../engine/checks/types';
import { createClamdClient } from '../../engine/checks/malware/clamd';
import { loadSignatures } from '../../engine/checks/malware/signatures';
import { RegistryBaseImageCatalog } from '../../local/base-catalog';
import { pluginsOf, recordScan, type RecordedVerdict } from '../../engine/record-scan';
import { EmbeddedVerdictStore, defaultVerdictDir } from '../../local/verdict-store';
import { applyTrustTag, type TrustTagOutcome } from '../../engine/registry/trust-tags';
import { RegistryClient } from '../../engine/registry/client';
import { parseImageRef } from '../../engine/model/image-ref';
import { paintFor, type Paint } from '../format/colour';
import { scanProgressBar } from '../progress';
import { notifyScan } from '../notify';
import { formatDuration, parseDuration } from '../../engine/duration';
import { DEFAULT_SCAN_TIMEOUT_MS, startDeadline, withDeadline } from '../../engine/registry/deadline';

/** Output formats of `trustctl scan` implemented so far (DESIGN.md "Contracts"). */
export const SCAN_FORMATS = ['table', 'json', 'sarif', 'cyclonedx', 'spdx'] as const;
type ScanFormat = (typeof SCAN_FORMATS)[number];

const TOOL_VERSION = process.env.npm_package_version ?? '0.1.0';

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, unknown: 4 } as const;

/**
 * Vulnerabilities as a table — known-exploited first (marked `KEV`), then worst first, as Trivy prints
 * them — other findings as lines. A severity no source knows shows as `UNKNOWN*`, with a footnote: the
 * policy (not the table) decides what it counts as (`vulnerabilities.unknownSeverityAs`, high by default).
 */
export function renderFindings(findings: readonly Finding[]): string {
  const vulns = findings.filter((f) => f.type === 'vulnerability') as (Finding & { installedVersion?: string; summary?: string })[];
  const other = findings.filter((f) => f.type !== 'vulnerability');
  let out = '';
  if (vulns.length > 0) {
    const counts = Object.keys(SEVERITY_RANK).map((s) => [s, vulns.filter((v) => v.severity === s).length] as const).filter(([, n]) => n > 0);
    const kev = vulns.filter(isKnownExploited).length;
    out += `\nVulnerabilities ${vulns.length} (${counts.map(([s, n]) => `${s.toUpperCase()} ${n}`).join(', ')})${kev ? `, ${kev} known exploited (CISA KEV)` : ''}\n\n`;
    const rows = [...vulns]
      .sort((a, b) => Number(isKnownExploited(b)) - Number(isKnownExploited(a)) || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id))
      .map((v) => [
        `${v.severity.toUpperCase()}${v.severity === 'unknown' ? '*' : ''}${isKnownExploited(v) ? ' KEV' : ''}`,
        v.id, v.package ? decodeURIComponent(v.package.replace(/^pkg:[^/]+\/(?:[^/]+\/)?/, '').split('@')[0]) : '', v.installedVersion ?? '', v.fixedIn ?? '', (v.summary ?? '').slice(0, 60),
      ]);
    out += renderTable(['severity', 'id', 'package', 'installed', 'fixed in', 'summary'], rows);
    if (vulns.some((v) => v.severity === 'unknown')) out += '  * severity unknown to every source (NVD, the advisories, their aliases); the default policy treats it as high (vulnerabilities.unknownSeverityAs)\n';
    if (kev) out += '  KEV: listed in CISA\'s Known Exploited Vulnerabilities catalog; the default policy quarantines it (vulnerabilities.knownExploited)\n';
  }
  const unscannable = other.filter((f) => f.type === 'unscannable');
  const checks = other.filter((f) => f.type !== 'unscannable');
  for (const f of unscannable) out += `  ${f.type}: ${f.id}: ${f.message}\n`;
  if (checks.length > 0) {
    out += `\nOther findings ${checks.length} (malware, secrets, misconfiguration, base image)\n\n`;
    const rows = [...checks]
      .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.type.localeCompare(b.type) || a.id.localeCompare(b.id))
      .map((f) => [f.severity.toUpperCase(), f.type, f.id, f.path ?? '', f.message.slice(0, 80)]);
    out += renderTable(['severity', 'type', 'id', 'path', 'message'], rows);
  }
  return out;
}

/** Renders a scan for a terminal: verdict, OS, package counts per ecosystem, vulnerabilities, unknowns (and every package with `packages`). */
export function renderScanTable(r: ScanResult, opts: { packages?: boolean; paint?: Paint } = {}): string {
  const status = opts.paint?.status ?? ((s: string) => s.toUpperCase());
  let out = `Image    ${r.ref}\nDigest   ${r.digest}\nVerdict  ${status(r.verdict.status)}\n`;
  for (const reason of r.verdict.reasons) out += `  - [${reason.rule}] ${reason.message}\n`;
  for (const w of (r.verdict as { warnings?: readonly { rule: string; message: string }[] }).warnings ?? []) out += `  ! [${w.rule}] ${w.message}\n`;
  // RELIABILITY.md 46: how old the vulnerability data is, on every report.
  if (r.feeds && r.feeds.length > 0) {
    const w = Math.max(...r.feeds.map((f) => f.source.length));
    out += `Feeds    ${r.feeds.map((f) => `${f.source.padEnd(w)}  newest record ${f.modified?.slice(0, 10) ?? 'none'}${f.syncedAt ? `, synced ${f.syncedAt.slice(0, 10)}` : ''}`).join('\n         ')}\n`;
  }
  for (const img of r.images) {
    const os = osName(img);
    out += `\n${img.platform}  ${img.manifestDigest}${os ? `  (${os})` : ''}\n`;
    const cached = img.layers.filter((l) => l.cached).length;
    if (img.layers.length > 0) out += `Layers   ${img.layers.length}${cached ? ` (${cached} from cache)` : ''}\n`;
    const counts = new Map<string, number>();
    for (const p of img.packages) counts.set(p.ecosystem, (counts.get(p.ecosystem) ?? 0) + 1);
    out += `Packages ${img.packages.length}${counts.size ? ` (${[...counts].map(([e, n]) => `${e} ${n}`).join(', ')})` : ''}\n`;
    if (img.packages.length > 0 && opts.packages) {
      const rows = [...img.packages]
        .sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
        .map((p) => [p.ecosystem, p.name, p.version, p.sourceName && p.sourceName !== p.name ? `${p.sourceName}${p.sourceVersion && p.sourceVersion !== p.version ? ` ${p.sourceVersion}` : ''}` : '', p.locations[0]?.path ?? '']);
      out += '\n' + renderTable(['ecosystem', 'name', 'version', 'source', 'path'], rows);
    }
    out += renderFindings(img.findings);
    if (img.unknowns.length > 0) {
      // Worst first: what could hide content or packages before the notes.
      const byClass = new Map<string, number>();
      for (const u of img.unknowns) byClass.set(unknownClass(u), (byClass.get(unknownClass(u)) ?? 0) + 1);
      out += `\nUnknowns ${img.unknowns.length} (not examined: ${[...byClass].map(([c, n]) => `${c} ${n}`).join(', ')})\n`;
      const sorted = [...img.unknowns].sort((a, b) => Number(!hidesContent(a)) - Number(!hidesContent(b)));
      for (const u of sorted.slice(0, 20)) out += `  [${unknownClass(u)}${u.consumer ? `, ${u.consumer}` : ''}] ${u.path} (layer ${shortDigest(u.layer as Digest)}): ${u.reason}\n`;
      if (img.unknowns.length > 20) out += `  … ${img.unknowns.length - 20} more (see --format json)\n`;
    }
  }
  if (r.images.length > 1 || r.images.some((i) => i.packages.length > 20)) {
    out += `\nVerdict  ${status(r.verdict.status)} for ${r.ref} (${r.images.map((i) => `${i.platform} ${i.verdict.status}`).join(', ')})\n`;
  }
  return out;
}

/** The scan result in the format asked for. */
export function formatScan(r: ScanResult, format: ScanFormat, opts: { packages?: boolean; paint?: Paint } = {}): string {
  switch (format) {
    case 'json': return JSON.stringify(toScanReport(r), null, 2) + '\n';
    case 'sarif': return JSON.stringify(toSarif(r, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    case 'cyclonedx': return JSON.stringify(toCycloneDx(r, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    case 'spdx': return JSON.stringify(toSpdx(r, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    default: return renderScanTable(r, opts);
  }
}

const collect = (v: string, p: string[] = []): string[] => [...p, v];

/** `--clamd tcp://host:port` or `--clamd unix:/run/clamav/clamd.ctl`. */
export function parseClamdAddress(addr: string): { host: string; port: number } | { socketPath: string } {
  const unix = /^unix:(.+)$/.exec(addr);
  if (unix) return { socketPath: unix[1] };
  const tcp = /^(?:tcp:\/\/)?([^:/]+):(\d{1,5})$/.exec(addr);
  if (!tcp || Number(tcp[2]) > 65535) throw new InvalidArgumentError(`--clamd: expected tcp://host:port or unix:/path, got ${JSON.stringify(addr)}`);
  return { host: tcp[1], port: Number(tcp[2]) };
}

/** The checks a scan runs, from its flags (checks.ts's list, configured). */
export async function checksFromOptions(opts: { blocklist: string[]; malwareRules: string[]; clamd?: string; trustedBases?: string }, limits: Limits): Promise<Check[]> {
  const signatures = opts.blocklist.length + opts.malwareRules.length > 0 ? await loadSignatures({ blocklists: opts.blocklist, patterns: opts.malwareRules }) : undefined;
  const clamd = opts.clamd ? createClamdClient(parseClamdAddress(opts.clamd)) : undefined;
  const baseImages = opts.trustedBases ? await RegistryBaseImageCatalog.fromFile(opts.trustedBases, { limits, credentials: cliCredentialProvider() }) : undefined;
  return allChecks({ ...(signatures ? { signatures } : {}), ...(clamd ? { clamd } : {}), ...(baseImages ? { baseImages } : {}) });
}

/**
 * How layer workers rebuild the checks {@link checksFromOptions} makes from the same flags (the
 * base-image check reads the squashed tree on the main thread: it is not a worker's).
 */
export function layerWorkerSpec(opts: { checks: boolean; blocklist: string[]; malwareRules: string[]; clamd?: string }): LayerWorkerSpec {
  if (!opts.checks) return {};
  return { checks: { signatures: { blocklists: opts.blocklist, patterns: opts.malwareRules }, ...(opts.clamd ? { clamd: parseClamdAddress(opts.clamd) } : {}) } };
}

/** `--timeout 30m`: a duration as the rest of the CLI spells them (engine/duration.ts), more than zero. */
export function parseTimeoutOption(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  if (ms <= 0) throw new InvalidArgumentError('--timeout must be more than 0');
  return ms;
}

/**
 * Runs the scan of any target the CLI accepts: `dir:<path>` or an image. An image is read under the
 * overall deadline `timeoutMs` (default {@link DEFAULT_SCAN_TIMEOUT_MS}; RELIABILITY.md 60): every
 * request and body read of the source is abandoned when it passes, and a scan that finishes after it
 * is not used either — ScanTimeoutError, no verdict.
 */
export async function scanTarget(target: string, opts: { limits: Limits; platform?: Platform; cache?: LayerCache; advisories?: AdvisorySource; checks?: readonly Check[]; policy?: Policy; onProgress?: ScanOptions['onProgress']; timeoutMs?: number; workers?: ScanOptions['workers'] }): Promise<ScanResult> {
  if (target.startsWith('dir:')) return scanDirectory(target.slice('dir:'.length), { limits: opts.limits, advisories: opts.advisories, checks: opts.checks, ...(opts.policy ? { policy: opts.policy } : {}) });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS;
  const deadline = startDeadline(timeoutMs, `--timeout ${formatDuration(timeoutMs)}`);
  try {
    const source = await openTarget(target, { limits: opts.limits, signal: deadline.signal });
    try {
      const result = await scanImage(withDeadline(source, deadline.signal), opts);
      deadline.check();
      return result;
    } finally {
      await source.close?.();
    }
  } finally {
    deadline.clear();
  }
}

/**
 * Step 5 "Record" for the CLI: the scan's verdicts, inventories and package index into the embedded
 * store (what `trustctl verify` and `history` read), then, with `--tag`, the verdict's tag on the
 * registry image. A `dir:` target has no image digest anyone deploys: it is judged, not recorded.
 */
async function recordAndTag(target: string, result: ScanResult, opts: { verdictDir?: string; tag?: boolean; checks: readonly Check[]; limits: Limits }): Promise<{ recorded: RecordedVerdict[]; tag?: TrustTagOutcome }> {
  if (target.startsWith('dir:')) return { recorded: [] };
  const store = new EmbeddedVerdictStore(opts.verdictDir ?? defaultVerdictDir());
  const recorded = await recordScan(store, result, { plugins: pluginsOf({ checks: opts.checks }) });
  if (!opts.tag) return { recorded };
  const ref = parseImageRef(target);
  const root = recorded.find((r) => r.digest === result.digest);
  if (!root) return { recorded }; // a partial index scan: no verdict for the index, so no tag either
  const client = new RegistryClient({ registry: ref.registry, limits: opts.limits, credentials: cliCredentialProvider() });
  // Idempotent: an unchanged verdict finds its tag in place ('unchanged'); a change adds the new one.
  return { recorded, tag: await applyTrustTag(client, ref.repository, result.digest, root.current.status) };
}

/** The lines after a report that say what was recorded and tagged (stderr: stdout is the report). */
function recordSummary(r: { recorded: readonly RecordedVerdict[]; tag?: TrustTagOutcome }, verdictDir: string): string {
  let out = '';
  for (const v of r.recorded) {
    const what = !v.written ? 'already recorded (the store holds a newer or the same evaluation)'
      : v.changed ? (v.previousStatus ? `changed ${v.previousStatus} → ${v.current.status}` : `first verdict: ${v.current.status}`)
        : `re-evaluated: still ${v.current.status}`;
    out += `recorded ${v.digest} revision ${v.current.revision}: ${what}\n`;
  }
  if (r.recorded.length > 0) out += `verdict store: ${verdictDir}\n`;
  if (r.tag) out += `tag ${r.tag.tag}: ${r.tag.result}${r.tag.message ? ` (${r.tag.message})` : ''}\n`;
  return out;
}

/** `trustctl scan <target>`: inventory and verdict of an image or a directory; exit 0 trusted, 1 quarantined, 2 could not scan. */
export function registerScan(program: Command, ctx: CliContext): void {
  program
    .command('scan')
    .description('scan an image (or a directory), judge it with the policy and record the verdict')
    .argument('<target>', `${TARGET_HELP}, or dir:<path>`)
    .addOption(new Option('--format <format>', 'output format').choices(SCAN_FORMATS).default('table'))
    .option('--platform <os/arch[/variant]>', 'only this platform of a multi-platform image')
    .option('--feed <zip|dir|url>', 'match against exactly these OSV exports for this scan (repeatable; default: the embedded store)', (v: string, p: string[] = []) => [...p, v], [])
    .option('--data-dir <dir>', 'the embedded advisory store (default: as for `feeds sync`)')
    .option('--verdict-dir <dir>', 'the embedded verdict store the verdict is recorded in (default: $TRUSTCTL_DATA_DIR/verdicts or ~/.local/share/trustctl/verdicts)')
    .option('--no-record', 'judge only: record nothing in the verdict store')
    .option('--tag', 'after recording, tag the registry image with its verdict (trust-<status>-<12 hex of the digest>)')
    .option('--packages', 'table format: list every package, not only the counts')
    .option('--blocklist <file>', 'malware: a sha256sum-format blocklist (repeatable)', collect, [])
    .option('--malware-rules <file>', 'malware: byte-pattern rules, `name: pattern [@offset]` (repeatable)', collect, [])
    .option('--clamd <tcp://host:port|unix:path>', 'malware: also stream candidate files to this clamd (INSTREAM)')
    .option('--trusted-bases <file>', 'base images: the trusted-bases file (YAML/JSON); without it the base-image check does not run')
    .option('--policy <file>', 'the policy (YAML, trustctl/v1 Policy; default: the built-in default policy)')
    .option('--no-checks', 'only packages and vulnerabilities: no malware, secrets, misconfiguration or base-image checks')
    .option('--workers', 'read the layers read at once each on a worker thread (default: all on the main thread; the same results)')
    .option('--cache-dir <dir>', 'where layer results are kept (default: $TRUSTCTL_CACHE_DIR, $XDG_CACHE_HOME/trustctl or ~/.cache/trustctl)')
    .option('--no-cache', 'read every layer, keep nothing')
    .option('--no-progress', 'no progress bar on stderr (it is shown only when stderr is a terminal)')
    .option('--timeout <duration>', `the whole scan of an image must finish within this (e.g. 90s, 30m, 1h); past it: exit 2, no verdict (default ${formatDuration(DEFAULT_SCAN_TIMEOUT_MS)})`, parseTimeoutOption)
    .addOption(limitOption())
    .action(async (target: string, opts: { timeout?: number; format: ScanFormat; packages?: boolean; policy?: string; blocklist: string[]; malwareRules: string[]; clamd?: string; trustedBases?: string; checks: boolean; workers?: boolean; platform?: string; feed: string[]; dataDir?: string; verdictDir?: string; record: boolean; tag?: boolean; cacheDir?: string; cache: boolean; progress: boolean; limit: Record<string, number> }) => {
      const limits = resolveLimits(opts.limit);
      if (opts.tag && !opts.record) throw new UsageError('--tag writes the recorded verdict: it cannot be used with --no-record');
      if (opts.tag && (isArchiveTarget(target) || target.startsWith('dir:'))) {
        throw new UsageError(`--tag needs a registry image, not ${JSON.stringify(target.split(':')[0] + ':')}: there is no registry to tag`);
      }
      const cache = opts.cache ? new FileLayerCache(opts.cacheDir ?? defaultCacheDir()) : undefined;
      const checks = opts.checks ? await checksFromOptions(opts, limits) : [];
      const policy = opts.policy ? parsePolicy(await readFile(opts.policy, 'utf8'), opts.policy) : undefined;
      const adv = await advisoriesForScan(opts.feed, opts.dataDir);
      const bar = scanProgressBar(ctx.io.stderr, opts.progress);
      let result: ScanResult;
      try {
        result = await scanTarget(target, { limits, timeoutMs: opts.timeout, platform: opts.platform ? parsePlatform(opts.platform) : undefined, cache, advisories: adv.advisories, checks, ...(opts.workers ? { workers: layerWorkerSpec(opts) } : {}), ...(policy ? { policy } : {}), ...(bar.onProgress ? { onProgress: bar.onProgress } : {}) });
      } finally {
        bar.stop();
        await adv.close();
      }
      ctx.io.stdout.write(formatScan(result, opts.format, { packages: opts.packages, paint: paintFor(ctx.io.stdout) }));
      if (opts.record) {
        const verdictDir = opts.verdictDir ?? defaultVerdictDir();
        const recorded = await recordAndTag(target, result, { verdictDir, tag: opts.tag, checks, limits });
        ctx.io.stderr.write(recordSummary(recorded, verdictDir));
        ctx.io.stderr.write(await notifyScan(result, recorded.recorded, policy, verdictDir));
      }
      ctx.exitCode = result.verdict.status === 'trusted' ? ExitCode.Ok : ExitCode.Quarantined;
    });
}
