import type { Digest, Finding, Severity, Unknown } from '../../model';
import type { CheckResult, ImageCheck, ImageCheckContext } from '../types';
import type { BaseImageCatalog, BaseImageRecord } from './catalog';
import { type BaseImageMatch, detectBaseImage, newerTrustedBase } from './detect';

/**
 * The base-image check (an {@link ImageCheck}, issue "Beyond packages", item 4): finds the image's
 * base among the catalog's records by layer prefix ({@link detectBaseImage}) and reports
 * - {@link BASE_NOT_TRUSTED} (`TC-BI-001`, high) when the base is not trusted: the longest matching
 *   record is a known, untrusted base (named, with the trusted base below it if there is one), or no
 *   record matches at all;
 * - {@link BASE_OUTDATED} (`TC-BI-002`, medium) when the base is trusted but a newer trusted digest
 *   of the same repository / tag exists ({@link newerTrustedBase}); the message names it.
 * A trusted, current base gives no finding. Findings carry the detected base (`base`) and, for an
 * outdated one, the newer record (`newer`); `layer` is the image's topmost layer that belongs to the
 * base. A catalog that cannot be read is an unknown, never a pass.
 */

/** The check's name. */
export const BASE_IMAGE_CHECK_NAME = 'base-image';
/** Version of the check's logic. */
export const BASE_IMAGE_CHECK_VERSION = '1.0.0';

/** A base-image rule: id (`TC-BI-NNN`), title, severity and one line of remediation. */
export interface BaseImageRule {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly remediation: string;
}

export const BASE_NOT_TRUSTED: BaseImageRule = {
  id: 'TC-BI-001',
  title: 'Base image not from a trusted source',
  severity: 'high',
  remediation: 'Build FROM a base listed in the trusted-bases file (pin it by digest), or have the platform team vet and add this base.',
};

export const BASE_OUTDATED: BaseImageRule = {
  id: 'TC-BI-002',
  title: 'Base image outdated',
  severity: 'medium',
  remediation: 'Rebuild the image on the newer digest of its base (bump the FROM line\'s digest) to pick up its fixes.',
};

/** The base-image rules, in id order. */
export const BASE_IMAGE_RULES: readonly BaseImageRule[] = Object.freeze([BASE_NOT_TRUSTED, BASE_OUTDATED]);

/** A base image as a finding reports it. */
export interface BaseImageInfo {
  readonly ref: string;
  readonly digest: Digest;
  readonly trusted: boolean;
  /** Layers of the image that are the base's. */
  readonly layers: number;
  readonly created?: string;
  readonly pattern?: string;
}

/** A base-image finding: a {@link Finding} with the rule's remediation and the base it is about. */
export interface BaseImageFinding extends Finding {
  readonly type: 'base-image';
  readonly remediation: string;
  /** The detected base (absent when no known base matched). */
  readonly base?: BaseImageInfo;
  /** For an outdated base: the newer trusted record. */
  readonly newer?: Omit<BaseImageInfo, 'layers'>;
}

function info(r: BaseImageRecord, layers: number): BaseImageInfo {
  return { ref: r.ref, digest: r.digest, trusted: r.trusted, layers, ...(r.created !== undefined ? { created: r.created } : {}), ...(r.pattern !== undefined ? { pattern: r.pattern } : {}) };
}

function name(r: BaseImageRecord): string {
  return r.ref.includes('@') ? r.ref : `${r.ref}@${r.digest}`;
}

function finding(rule: BaseImageRule, message: string, extra: { layer?: string; base?: BaseImageInfo; newer?: BaseImageFinding['newer'] }): BaseImageFinding {
  return {
    type: 'base-image',
    id: rule.id,
    aliases: [],
    severity: rule.severity,
    ...(extra.layer !== undefined ? { layer: extra.layer } : {}),
    path: 'config:rootfs.diff_ids',
    message,
    remediation: rule.remediation,
    ...(extra.base ? { base: extra.base } : {}),
    ...(extra.newer ? { newer: extra.newer } : {}),
  };
}

/** The findings for an image's diff_ids against the records (no I/O: the check's core, exported for reuse). */
export function judgeBaseImage(diffIds: readonly Digest[], records: readonly BaseImageRecord[], layerOf: (i: number) => string | undefined = () => undefined): { match?: BaseImageMatch; findings: BaseImageFinding[] } {
  const match = detectBaseImage(diffIds, records);
  if (!match) {
    const trusted = records.filter((r) => r.trusted).length;
    return {
      findings: [finding(BASE_NOT_TRUSTED, `no known base image: none of the ${records.length} catalogued base images (${trusted} trusted) is a layer prefix of this image, so its base is not from a trusted source`, {})],
    };
  }
  const layer = layerOf(match.layers - 1);
  const base = info(match.record, match.layers);
  const whole = match.layers === diffIds.length;
  if (!match.trusted) {
    const below = detectBaseImage(diffIds, records.filter((r) => r.trusted));
    const onTrusted = below ? `; it is itself built on the trusted ${name(below.record)} (${below.layers} layer${below.layers === 1 ? '' : 's'})` : '';
    const what = whole ? `the image is the known base ${name(match.record)}` : `the base image ${name(match.record)} (the first ${match.layers} of ${diffIds.length} layers)`;
    return { match, findings: [finding(BASE_NOT_TRUSTED, `${what} is known but not trusted${match.record.pattern ? ` (pattern ${match.record.pattern})` : ''}${onTrusted}`, { layer, base })] };
  }
  const newer = newerTrustedBase(match, records);
  if (newer) {
    const { layers: _layers, ...n } = info(newer, newer.diffIds.length);
    return {
      match,
      findings: [
        finding(
          BASE_OUTDATED,
          `the base image ${name(match.record)}${match.record.created ? ` (created ${match.record.created})` : ''} is outdated: a newer trusted digest ${newer.digest} (${newer.ref}${newer.created ? `, created ${newer.created}` : ''}) exists`,
          { layer, base, newer: n },
        ),
      ],
    };
  }
  return { match, findings: [] };
}

/** Creates the base-image check over a catalog of known base images. */
export function createBaseImageCheck(catalog: BaseImageCatalog): ImageCheck {
  const run = async (ctx: ImageCheckContext): Promise<CheckResult> => {
    const unknowns: Unknown[] = [];
    let records: readonly BaseImageRecord[];
    try {
      records = await catalog.entries();
    } catch (err) {
      unknowns.push({ layer: ctx.manifestDigest, path: 'config:rootfs.diff_ids', reason: `${BASE_IMAGE_CHECK_NAME}: the base-image catalog could not be read, so the base image is not vetted: ${(err as Error).message}`, class: 'parse-error', consumer: BASE_IMAGE_CHECK_NAME });
      return { findings: [], unknowns };
    }
    const diffIds = ctx.config.rootfs?.diff_ids ?? [];
    const aligned = ctx.layers.length === diffIds.length;
    const { findings } = judgeBaseImage(diffIds, records, (i) => (aligned ? ctx.layers[i] : undefined));
    return { findings, unknowns };
  };
  return { kind: 'image', name: BASE_IMAGE_CHECK_NAME, version: BASE_IMAGE_CHECK_VERSION, run };
}

export { InMemoryBaseImageCatalog, validateBaseImageRecord } from './catalog';
export type { BaseImageCatalog, BaseImageRecord } from './catalog';
export { detectBaseImage, lineageOf, newerTrustedBase } from './detect';
export type { BaseImageMatch } from './detect';
export { TrustedBasesError, matchingEntries, parseBasePattern, parseTrustedBases, patternMatches, trustOf } from './trusted-bases';
export type { DigestBaseEntry, PatternBaseEntry, TrustedBaseEntry, TrustedBasesConfig } from './trusted-bases';
