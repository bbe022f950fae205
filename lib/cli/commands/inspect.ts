import type { Command } from 'commander';
import { Option } from 'commander';
import { inspectImage, type InspectReport } from '../../engine/inspect-image';
import { resolveLimits } from '../../engine/limits';
import { parsePlatform, shortDigest, type Digest } from '../../engine/model';
import { formatBytes, renderTable } from '../format/table';
import { type CliContext, limitOption } from '../main';
import { openTarget, TARGET_HELP } from '../targets';

/** Renders the inspect report for a terminal. */
export function renderInspectTable(r: InspectReport): string {
  let out = `Image      ${r.ref}\nDigest     ${r.digest}\nMediaType  ${r.mediaType}\n`;
  if (r.isIndex) out += `Platforms  ${r.platforms.join(', ')}\n`;
  for (const img of r.images) {
    out += `\n${img.platform}  manifest ${img.manifestDigest}\n`;
    if (img.created) out += `Created    ${img.created}\n`;
    out += renderTable(
      ['layer', 'media type', 'compression', 'size', 'unpacked', 'entries'],
      img.layers.map((l) => [shortDigest(l.digest as Digest), l.mediaType, l.compression, formatBytes(l.size), formatBytes(l.uncompressedSize), String(l.entries)]),
    );
    out += `Files in the squashed tree: ${img.files}\n`;
    for (const u of img.unknowns) out += `  unknown: ${u.path} (layer ${shortDigest(u.layer as Digest)}): ${u.reason}\n`;
  }
  return out;
}

/** `trustctl inspect <target>`: what an image is made of, without scanning it (like `skopeo inspect`). */
export function registerInspect(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description('show an image\'s digest, platforms, layers and squashed file count')
    .argument('<target>', TARGET_HELP)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--platform <os/arch[/variant]>', 'only this platform of a multi-platform image')
    .addOption(limitOption())
    .action(async (target: string, opts: { format: string; platform?: string; limit: Record<string, number> }) => {
      const limits = resolveLimits(opts.limit);
      const source = await openTarget(target, { limits });
      try {
        const report = await inspectImage(source, { limits, platform: opts.platform ? parsePlatform(opts.platform) : undefined });
        ctx.io.stdout.write(opts.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderInspectTable(report));
      } finally {
        await source.close?.();
      }
    });
}
