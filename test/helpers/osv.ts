/**
 * Raw OSV JSON in the engine's {@link OsvRecord} shape, leniently: the store tests keep records the
 * feed reader would reject (CVE-2012-2812's `versions: null`), so they do not go through
 * `parseOsvRecord`.
 */
import type { OsvAffected, OsvRange, OsvRecord, OsvSeverity } from '../../lib/engine/advisories/osv';
import { corpusBytes } from './corpus';

export type Raw = Record<string, unknown>;

function arr<T>(v: unknown): T[] {
  // `versions: null` occurs in a real legacy Alpine record (CVE-2012-2812): absent and null both mean none.
  return Array.isArray(v) ? (v as T[]) : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Readonly<Record<string, unknown>> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * What the feed reader does, as far as these tests need it: arrays default to [], snake_case
 * `*_specific` fields become camelCase, fields the engine does not model are dropped.
 */
export function toOsvRecord(raw: Raw): OsvRecord {
  const affected: OsvAffected[] = arr<Raw>(raw.affected).map((a) => {
    const pkg = obj(a.package) ?? {};
    return {
      ecosystem: String(pkg.ecosystem),
      name: String(pkg.name),
      ...(str(pkg.purl) ? { purl: str(pkg.purl) } : {}),
      ranges: arr<Raw>(a.ranges).map((r): OsvRange => ({
        type: r.type as OsvRange['type'],
        ...(str(r.repo) ? { repo: str(r.repo) } : {}),
        events: arr<OsvRange['events'][number]>(r.events),
      })),
      versions: arr<string>(a.versions),
      severity: arr<OsvSeverity>(a.severity),
      ...(obj(a.ecosystem_specific) ? { ecosystemSpecific: obj(a.ecosystem_specific) } : {}),
      ...(obj(a.database_specific) ? { databaseSpecific: obj(a.database_specific) } : {}),
    };
  });
  return {
    id: String(raw.id),
    modified: String(raw.modified),
    ...(str(raw.published) ? { published: str(raw.published) } : {}),
    ...(str(raw.withdrawn) ? { withdrawn: str(raw.withdrawn) } : {}),
    aliases: arr<string>(raw.aliases),
    related: arr<string>(raw.related),
    upstream: arr<string>(raw.upstream),
    ...(str(raw.summary) ? { summary: str(raw.summary) } : {}),
    ...(str(raw.details) ? { details: str(raw.details) } : {}),
    severity: arr<OsvSeverity>(raw.severity),
    affected,
    references: arr<{ type: string; url: string }>(raw.references),
    ...(obj(raw.database_specific) ? { databaseSpecific: obj(raw.database_specific) } : {}),
  };
}

/** Every record file of the corpus, in index.json order (two ids occur twice: spec example and real record). */

/** One record of ../shared/corpus/osv, e.g. `corpusRecord('distro/DLA-3008-1.json')`. */
export function corpusRecord(file: string): OsvRecord {
  return toOsvRecord(JSON.parse(corpusBytes('osv', ...file.split('/')).toString('utf8')) as Raw);
}
