import type { Command } from 'commander';
import { Option } from 'commander';
import { resolveLimits, type Limits } from '../../engine/limits';
import { parsePlatform, shortDigest, type Digest, type Platform } from '../../engine/model';
import { scanImage, type ScanResult } from '../../engine/scan-image';
import type { LayerCache } from '../../engine/ports';
import { scanDirectory } from '../../local/dir-target';
import { defaultCacheDir, FileLayerCache } from '../../local/layer-cache';
import { toCycloneDx } from '../format/cyclonedx';
import { osName, toScanReport } from '../format/report';
import { toSpdx } from '../format/spdx';
import { renderTable } from '../format/table';
import { ExitCode } from '../exit-codes';
import { type CliContext, limitOption } from '../main';
import { openTarget, TARGET_HELP } from '../targets';

/** Output formats of `trustctl scan` implemented so far (DESIGN.md "Contracts"). */
export const SCAN_FORMATS = ['table', 'json', 'cyclonedx', 'spdx'] as const;
type ScanFormat = (typeof SCAN_FORMATS)[number];

const TOOL_VERSION = process.env.npm_package_version ?? '0.1.0';

/** Renders a scan for a terminal: verdict, OS, package counts per ecosystem, then every package. */
export function renderScanTable(r: ScanResult): string {
  let out = `Image    ${r.ref}\nDigest   ${r.digest}\nVerdict  ${r.verdict.status.toUpperCase()}\n`;
  for (const reason of r.verdict.reasons) out += `  - [${reason.rule}] ${reason.message}\n`;
  for (const img of r.images) {
    const os = osName(img);
    out += `\n${img.platform}  ${img.manifestDigest}${os ? `  (${os})` : ''}\n`;
    const cached = img.layers.filter((l) => l.cached).length;
    if (img.layers.length > 0) out += `Layers   ${img.layers.length}${cached ? ` (${cached} from cache)` : ''}\n`;
    const counts = new Map<string, number>();
    for (const p of img.packages) counts.set(p.ecosystem, (counts.get(p.ecosystem) ?? 0) + 1);
    out += `Packages ${img.packages.length}${counts.size ? ` (${[...counts].map(([e, n]) => `${e} ${n}`).join(', ')})` : ''}\n`;
    if (img.packages.length > 0) {
      const rows = [...img.packages]
        .sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version))
        .map((p) => [p.ecosystem, p.name, p.version, p.sourceName && p.sourceName !== p.name ? `${p.sourceName}${p.sourceVersion && p.sourceVersion !== p.version ? ` ${p.sourceVersion}` : ''}` : '', p.locations[0]?.path ?? '']);
      out += '\n' + renderTable(['ecosystem', 'name', 'version', 'source', 'path'], rows);
    }
    for (const f of img.findings) out += `  ${f.type}: ${f.id}: ${f.message}\n`;
    if (img.unknowns.length > 0) {
      out += `\nUnknowns ${img.unknowns.length} (files that could not be read)\n`;
      for (const u of img.unknowns.slice(0, 20)) out += `  ${u.path} (layer ${shortDigest(u.layer as Digest)}): ${u.reason}\n`;
      if (img.unknowns.length > 20) out += `  … ${img.unknowns.length - 20} more (see --format json)\n`;
    }
  }
  if (r.images.length > 1 || r.images.some((i) => i.packages.length > 20)) {
    out += `\nVerdict  ${r.verdict.status.toUpperCase()} for ${r.ref} (${r.images.map((i) => `${i.platform} ${i.verdict.status}`).join(', ')})\n`;
  }
  return out;
}

/** The scan result in the format asked for. */
export function formatScan(r: ScanResult, format: ScanFormat): string {
  switch (format) {
    case 'json': return JSON.stringify(toScanReport(r), null, 2) + '\n';
    case 'cyclonedx': return JSON.stringify(toCycloneDx(r, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    case 'spdx': return JSON.stringify(toSpdx(r, { toolVersion: TOOL_VERSION }), null, 2) + '\n';
    default: return renderScanTable(r);
  }
}

/** Runs the scan of any target the CLI accepts: `dir:<path>` or an image. */
export async function scanTarget(target: string, opts: { limits: Limits; platform?: Platform; cache?: LayerCache }): Promise<ScanResult> {
  if (target.startsWith('dir:')) return scanDirectory(target.slice('dir:'.length), { limits: opts.limits });
  const source = await openTarget(target, { limits: opts.limits });
  try {
    return await scanImage(source, opts);
  } finally {
    await source.close?.();
  }
}

/** `trustctl scan <target>`: inventory and verdict of an image or a directory; exit 0 trusted, 1 quarantined, 2 could not scan. */
export function registerScan(program: Command, ctx: CliContext): void {
  program
    .command('scan')
    .description('scan an image (or a directory) and print its verdict and packages')
    .argument('<target>', `${TARGET_HELP}, or dir:<path>`)
    .addOption(new Option('--format <format>', 'output format').choices(SCAN_FORMATS).default('table'))
    .option('--platform <os/arch[/variant]>', 'only this platform of a multi-platform image')
    .option('--cache-dir <dir>', 'where layer results are kept (default: $TRUSTCTL_CACHE_DIR, $XDG_CACHE_HOME/trustctl or ~/.cache/trustctl)')
    .option('--no-cache', 'read every layer, keep nothing')
    .addOption(limitOption())
    .action(async (target: string, opts: { format: ScanFormat; platform?: string; cacheDir?: string; cache: boolean; limit: Record<string, number> }) => {
      const limits = resolveLimits(opts.limit);
      const cache = opts.cache ? new FileLayerCache(opts.cacheDir ?? defaultCacheDir()) : undefined;
      const result = await scanTarget(target, { limits, platform: opts.platform ? parsePlatform(opts.platform) : undefined, cache });
      ctx.io.stdout.write(formatScan(result, opts.format));
      ctx.exitCode = result.verdict.status === 'trusted' ? ExitCode.Ok : ExitCode.Quarantined;
    });
}
