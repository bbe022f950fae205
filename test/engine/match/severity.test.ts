import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { OsvAffected, OsvRange, OsvRecord, OsvSeverity } from '../../../lib/engine/advisories/osv';
import { advisorySeverity, ratingOf, scoreCvss, type CvssVersion } from '../../../lib/engine/match/severity';
import type { Severity } from '../../../lib/engine/model';
import { corpusPath } from '../../helpers/corpus';

// ---------------------------------------------------------------------------------------------------
// Corpus records: until the OSV reader exists, a tiny adapter from the JSON to OsvRecord (arrays
// default to [], ecosystem_specific → ecosystemSpecific, database_specific → databaseSpecific).

interface RawAffected {
  package?: { ecosystem?: string; name?: string; purl?: string };
  ranges?: unknown[] | null;
  versions?: string[] | null;
  severity?: OsvSeverity[] | null;
  ecosystem_specific?: Record<string, unknown> | null;
  database_specific?: Record<string, unknown> | null;
}
interface RawRecord {
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[] | null;
  related?: string[] | null;
  upstream?: string[] | null;
  summary?: string;
  details?: string;
  severity?: OsvSeverity[] | null;
  affected?: RawAffected[] | null;
  references?: { type: string; url: string }[] | null;
  database_specific?: Record<string, unknown> | null;
}

function toAffected(a: RawAffected): OsvAffected {
  return {
    ecosystem: a.package?.ecosystem ?? '', name: a.package?.name ?? '', purl: a.package?.purl,
    ranges: (a.ranges ?? []) as OsvRange[], versions: a.versions ?? [], severity: a.severity ?? [],
    ecosystemSpecific: a.ecosystem_specific ?? undefined, databaseSpecific: a.database_specific ?? undefined,
  };
}

function toRecord(r: RawRecord): OsvRecord {
  return {
    id: r.id, modified: r.modified, published: r.published, withdrawn: r.withdrawn,
    aliases: r.aliases ?? [], related: r.related ?? [], upstream: r.upstream ?? [], summary: r.summary, details: r.details,
    severity: r.severity ?? [], affected: (r.affected ?? []).map(toAffected), references: r.references ?? [],
    databaseSpecific: r.database_specific ?? undefined,
  };
}

const OSV = corpusPath('osv');
const load = (file: string): OsvRecord => toRecord(JSON.parse(readFileSync(join(OSV, file), 'utf8')) as RawRecord);

/** Every record file of the corpus (the schema folder and index.json are not records). */
function recordFiles(dir = OSV): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'schema' ? [] : recordFiles(p);
    return e.name.endsWith('.json') && relative(OSV, p) !== 'index.json' ? [relative(OSV, p)] : [];
  });
}

/** A minimal record for the synthetic fallback-chain cases. */
function record(id: string, fields: Partial<OsvRecord> = {}): OsvRecord {
  return { id, modified: '2024-01-01T00:00:00Z', aliases: [], related: [], upstream: [], severity: [], affected: [], references: [], ...fields };
}
function affectedEntry(fields: Partial<OsvAffected> = {}): OsvAffected {
  return { ecosystem: 'npm', name: 'pkg', ranges: [], versions: [], severity: [], ...fields };
}
const cvss3 = (score: string): OsvSeverity => ({ type: 'CVSS_V3', score });
const cvss4 = (score: string): OsvSeverity => ({ type: 'CVSS_V4', score });

// ---------------------------------------------------------------------------------------------------

describe('scoreCvss: CVSS v3.1 (https://www.first.org/cvss/v3.1/specification-document)', () => {
  // FIRST, "Common Vulnerability Scoring System v3.1: Examples" (https://www.first.org/cvss/v3-1/examples):
  // the vector and base score each example gives.
  it.each([
    ['CVE-2013-1937 phpMyAdmin reflected XSS (scope changed)', 'AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVE-2013-0375 MySQL stored SQL injection (scope changed)', 'AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
    ['CVE-2014-3566 SSLv3 POODLE', 'AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
    ['CVE-2012-1516 VMware guest-to-host escape (scope changed)', 'AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
    ['CVE-2009-0783 Apache Tomcat XML parser', 'AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L', 4.2],
    ['CVE-2012-0384 Cisco IOS arbitrary command execution', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
    ['CVE-2015-1098 Apple iWork denial of service', 'AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8],
    ['CVE-2014-0160 OpenSSL Heartbleed', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
    ['CVE-2014-6271 GNU Bash Shellshock', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVE-2008-1447 DNS Kaminsky bug (scope changed)', 'AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N', 6.8],
    ['CVE-2014-2005 Sophos login screen bypass (physical)', 'AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8],
    ['CVE-2010-0467 Joomla directory traversal (scope changed)', 'AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N', 5.8],
    ['CVE-2012-1342 Cisco access control bypass (scope changed)', 'AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N', 5.8],
    ['CVE-2013-6014 Juniper proxy ARP denial of service (adjacent, scope changed)', 'AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H', 9.3],
    ['CVE-2014-9253 DokuWiki reflected XSS (scope changed)', 'AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
    ['CVE-2009-0658 Adobe Acrobat buffer overflow', 'AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8],
    ['CVE-2011-1265 Microsoft Windows Bluetooth RCE (adjacent)', 'AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.8],
    ['CVE-2014-2019 Apple iOS security control bypass', 'AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N', 4.6],
    ['CVE-2015-0970 SearchBlox CSRF', 'AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
    ['CVE-2014-0224 OpenSSL CCS injection', 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N', 7.4],
    ['CVE-2012-5376 Google Chrome sandbox bypass (scope changed)', 'AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H', 9.6],
    ['CVE-2016-1645 Chrome PDFium JPEG 2000 RCE', 'AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
    ['CVE-2016-0128 Windows SAM/LSAD downgrade "Badlock"', 'AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N', 6.8],
    ['CVE-2016-5729 Lenovo BIOS privilege escalation (scope changed)', 'AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H', 8.2],
  ])('%s: %s = %d', (_name, body, score) => {
    expect(scoreCvss(`CVSS:3.1/${body}`)).toEqual({ version: '3.1', score });
    // CVSS v3.0 has the same base equations (only its Roundup was loosely specified): same scores.
    expect(scoreCvss(`CVSS:3.0/${body}`)).toEqual({ version: '3.0', score });
  });

  // The base equations of section 7.1 and the Roundup of Appendix A, written out here independently of the
  // library, over every one of the 2,592 base vectors (a guard for library upgrades).
  it('matches the section 7.1 equations on every v3.0 and v3.1 base vector', () => {
    const AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as const;
    const AC = { L: 0.77, H: 0.44 } as const;
    const UI = { N: 0.85, R: 0.62 } as const;
    const CIA = { H: 0.56, L: 0.22, N: 0 } as const;
    const roundup = (x: number): number => {
      const i = Math.round(x * 100000);
      return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
    };
    let checked = 0;
    for (const av of ['N', 'A', 'L', 'P'] as const) for (const ac of ['L', 'H'] as const) for (const pr of ['N', 'L', 'H'] as const)
      for (const ui of ['N', 'R'] as const) for (const s of ['U', 'C'] as const) for (const c of ['H', 'L', 'N'] as const)
        for (const i of ['H', 'L', 'N'] as const) for (const a of ['H', 'L', 'N'] as const) {
          const changed = s === 'C';
          const prW = pr === 'N' ? 0.85 : pr === 'L' ? (changed ? 0.68 : 0.62) : (changed ? 0.5 : 0.27);
          const iss = 1 - (1 - CIA[c]) * (1 - CIA[i]) * (1 - CIA[a]);
          const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
          const exploitability = 8.22 * AV[av] * AC[ac] * prW * UI[ui];
          const expected = impact <= 0 ? 0 : roundup(Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10));
          const body = `AV:${av}/AC:${ac}/PR:${pr}/UI:${ui}/S:${s}/C:${c}/I:${i}/A:${a}`;
          expect(scoreCvss(`CVSS:3.1/${body}`)?.score).toBe(expected);
          expect(scoreCvss(`CVSS:3.0/${body}`)?.score).toBe(expected);
          checked++;
        }
    expect(checked).toBe(2592);
  });

  it.each([
    ['temporal metrics are validated but not applied', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C', 9.8],
    ['environmental metrics are validated but not applied', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/CR:L/MAV:P/MS:C/MC:N', 7.5],
    ['metrics in any order (section 6: readers must accept any order)', 'CVSS:3.1/C:H/I:N/A:N/S:U/UI:N/PR:N/AC:L/AV:N', 7.5],
    ['explicit Not Defined (X) metrics', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:X/RL:X/RC:X', 7.5],
    ['no impact scores 0.0', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    ['maximum with scope changed is capped at 10.0', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10],
    ['surrounding whitespace is ignored', '  CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N\n', 7.5],
  ])('%s', (_name, vector, score) => {
    expect(scoreCvss(vector)?.score).toBe(score);
  });
});

describe('scoreCvss: CVSS v4.0 (https://www.first.org/cvss/v4-0/specification-document)', () => {
  it.each([
    // The example of the brief; FIRST's v4.0 calculator (https://www.first.org/cvss/calculator/4.0) gives 9.3.
    ['network, no privileges, high impact on the vulnerable system', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
    // FIRST, "CVSS v4.0 Examples" (https://www.first.org/cvss/v4-0/examples).
    ['CVE-2022-41741 nginx mp4 module memory corruption (FIRST v4.0 examples)', 'CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
    ['CVE-2013-6014 Juniper proxy ARP denial of service (FIRST v4.0 examples)', 'CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H', 6.4],
    // Every base metric at its worst is MacroVector 000100 (EQ4 is 0 only with MSI/MSA:S), table value 10
    // (FIRST cvss_lookup.js: "000100": 10), and it is that MacroVector's highest-severity vector.
    ['every base metric at its worst: MacroVector 000100', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H', 10],
    // docs.rs polycvss v4 module example ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N" → 6.9).
    ['low impact on all three of the vulnerable system', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N', 6.9],
    // An interpolated score at an x.x5 tie rounds half up: RedHatProductSecurity/cvss-v4-calculator issue #66,
    // fixed by PR #67 (FIRSTdotorg/cvss-v4-calculator PR #4 quotes this vector: 8.6, not 8.5).
    ['x.x5 tie rounds half up (reference calculator PR #67)', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:H/VI:L/VA:N/SC:H/SI:H/SA:H', 8.6],
    // Section 8: no impact on either system scores 0.0 whatever the exploitability.
    ['no impact on any system is 0.0', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0],
    // CVSS-B: threat, environmental and supplemental metrics are validated but not applied (E:U would give 8.1, CVSS-BT).
    ['threat metric not applied (CVSS-B)', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U', 9.3],
    ['environmental and supplemental metrics not applied', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/MAV:P/MSI:S/S:P/AU:Y/R:I/V:C/RE:H/U:Amber', 9.3],
    // GHSA-28g4-38q8-3cwc carried this reordered vector (github/advisory-database#7448): same score as in order.
    ['reordered impact metrics as published in a real GHSA', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/SC:N/VI:H/SI:N/VA:H/SA:N', 8.7],
  ])('%s = %d', (_name, vector, score) => {
    expect(scoreCvss(vector)).toEqual({ version: '4.0', score });
  });
});

describe('scoreCvss: CVSS v2 (https://www.first.org/cvss/v2/guide)', () => {
  // The v2 guide's worked examples, section 3.3.
  it.each([
    ['CVE-2002-0392 Apache chunked-encoding memory corruption (3.3.1)', 'AV:N/AC:L/Au:N/C:N/I:N/A:C', 7.8],
    ['CVE-2003-0818 Microsoft Windows ASN.1 library (3.3.2)', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10],
    ['CVE-2003-0062 NOD32 antivirus buffer overflow (3.3.3)', 'AV:L/AC:H/Au:N/C:C/I:C/A:C', 6.2],
    ['temporal and environmental metrics not applied', 'AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H', 7.8],
  ])('%s = %d', (_name, vector, score) => {
    expect(scoreCvss(vector)).toEqual({ version: '2.0', score });
  });
});

describe('scoreCvss: invalid or partial vectors are undefined, never thrown', () => {
  it.each([
    ['empty', ''],
    ['garbage', 'not a vector'],
    ['prefix only', 'CVSS:3.1/'],
    ['partial v3.1', 'CVSS:3.1/AV:N/AC:L'],
    ['v3.1 missing one base metric (A)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N'],
    ['v3.1 repeated metric', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/A:H'],
    ['v3.1 unknown value', 'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['v3.1 unknown metric', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/ZZ:X'],
    ['v3.1 lowercase value', 'CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['v3.1 trailing slash', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/'],
    ['v3.1 empty part', 'CVSS:3.1/AV:N//AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['v3.1 metric without value', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A'],
    ['v3.1 a v4 metric', 'CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['unknown version 3.2', 'CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['unknown version 9.9', 'CVSS:9.9/AV:N'],
    ['v3 body under the 4.0 prefix', 'CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
    ['partial v4.0', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N'],
    ['v4.0 with a v3 Scope value (S is Safety: X/N/P)', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:U'],
    ['v4.0 MSI:S is environmental only, not base SI', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N'],
    ['v4.0 repeated metric', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SA:H'],
    ['v4.0 bad supplemental value (U is Clear/Green/Amber/Red)', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:Blue'],
    ['partial v2', 'AV:N/AC:L/Au:N'],
    ['v2 bad value', 'AV:N/AC:L/Au:N/C:H/I:H/A:H'],
    ['v2 with a v3 metric', 'AV:N/AC:L/Au:N/C:C/I:C/A:C/S:U'],
    ['a prototype key as metric', 'CVSS:3.1/constructor:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'],
  ])('%s', (_name, vector) => {
    expect(scoreCvss(vector)).toBeUndefined();
  });

  it('non-strings from untyped JSON are undefined', () => {
    for (const v of [undefined, null, 7.5, {}]) expect(scoreCvss(v as unknown as string)).toBeUndefined();
  });
});

describe('ratingOf: FIRST qualitative severity rating scale (v3.1 section 5, v4.0 section 6)', () => {
  it.each([
    ['0.0 is FIRST "None": lowest known rating, not unknown', 0, undefined, 'low'],
    ['0.1 low', 0.1, undefined, 'low'],
    ['3.9 low', 3.9, undefined, 'low'],
    ['4.0 medium', 4.0, undefined, 'medium'],
    ['6.9 medium', 6.9, undefined, 'medium'],
    ['7.0 high', 7.0, undefined, 'high'],
    ['8.9 high', 8.9, undefined, 'high'],
    ['9.0 critical', 9.0, undefined, 'critical'],
    ['10.0 critical', 10, undefined, 'critical'],
    ['v4.0 uses the same scale', 9.3, '4.0', 'critical'],
    ['v2 (NVD bands): 10.0 is high, v2 has no critical', 10, '2.0', 'high'],
    ['v2 (NVD bands): 7.0 high', 7.0, '2.0', 'high'],
    ['v2 (NVD bands): 6.9 medium', 6.9, '2.0', 'medium'],
    ['v2 (NVD bands): 3.9 low', 3.9, '2.0', 'low'],
    ['below 0 is unknown', -0.1, undefined, 'unknown'],
    ['above 10 is unknown', 10.1, undefined, 'unknown'],
    ['NaN is unknown', Number.NaN, undefined, 'unknown'],
  ] as [string, number, CvssVersion | undefined, Severity][])('%s', (_name, score, version, expected) => {
    expect(ratingOf(score, version)).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('every CVSS vector in the OSV corpus scores (../shared/corpus/osv)', () => {
  const files = recordFiles();
  const vectors = files.flatMap((file) => {
    const r = load(file);
    return [...r.severity, ...r.affected.flatMap((a) => a.severity)]
      .filter((s) => s.type === 'CVSS_V3' || s.type === 'CVSS_V4')
      .map((s) => ({ file, ...s }));
  });

  it('the corpus has records and CVSS_V3/CVSS_V4 vectors', () => {
    expect(files.length).toBeGreaterThanOrEqual(298);
    // 116 in the snapshot this was written against: 103 top-level and 2 affected[] CVSS_V3, 11 CVSS_V4.
    expect(vectors.length).toBeGreaterThanOrEqual(116);
    expect(vectors.filter((v) => v.type === 'CVSS_V4').length).toBeGreaterThanOrEqual(11);
  });

  it('each scores to a number in [0, 10] with the version its type promises', () => {
    const bad = vectors.filter(({ type, score }) => {
      const s = scoreCvss(score);
      return !s || s.score < 0 || s.score > 10 || (type === 'CVSS_V4') !== (s.version === '4.0');
    });
    expect(bad).toEqual([]);
  });

  // GitHub derives database_specific.severity from the advisory's CVSS: for every GHSA record that has both,
  // the rating of our base score agrees, except GHSA-92xj-mqp7-vmcj, whose vector carries temporal metrics
  // (E:P/RL:O/RC:C) that GitHub applied (temporal 8.8, HIGH) and a base score does not (9.8, critical).
  it("GitHub's ratings agree with the base-score rating of the records' vectors", () => {
    const ghsa: Record<string, Severity> = { LOW: 'low', MODERATE: 'medium', HIGH: 'high', CRITICAL: 'critical' };
    const rated = files.map(load).filter((r) => typeof r.databaseSpecific?.severity === 'string' && r.severity.some((s) => s.type.startsWith('CVSS_')));
    expect(rated.length).toBeGreaterThanOrEqual(80);
    const disagree = rated
      .filter((r) => advisorySeverity(r).severity !== ghsa[r.databaseSpecific?.severity as string])
      .map((r) => `${r.id}: ${advisorySeverity(r).score} vs ${r.databaseSpecific?.severity as string}`);
    expect(disagree).toEqual(['GHSA-92xj-mqp7-vmcj: 9.8 vs HIGH']);
  });

  it('RUSTSEC database_specific.cvss is the same vector as the top-level severity, and scores the same', () => {
    const rustsec = files.filter((f) => f.startsWith('crates.io/')).map(load)
      .flatMap((r) => r.affected.map((a) => ({ r, cvss: a.databaseSpecific?.cvss })))
      .filter((x): x is { r: OsvRecord; cvss: string } => typeof x.cvss === 'string');
    expect(rustsec.length).toBeGreaterThan(0);
    for (const { r, cvss } of rustsec) expect(scoreCvss(cvss)).toEqual(scoreCvss(r.severity[0].score));
  });
});

describe('advisorySeverity on real corpus records', () => {
  it.each([
    // The record's own text states the score: "CVE-2022-3171 Medium - CVSS Score: 5.7".
    ['GHSA-h4h5-3hr4-j3g2 protobuf-java: score stated in its details', 'maven/GHSA-h4h5-3hr4-j3g2.json', 'medium', 5.7, 'CVSS_V3', 'CVSS Score: 5.7'],
    // "CVE-2021-22569 **High** - CVSS Score: 7.5".
    ['GHSA-wrvw-hg22-4m67 protobuf-java: score stated in its details', 'maven/GHSA-wrvw-hg22-4m67.json', 'high', 7.5, 'CVSS_V3', 'CVSS Score: 7.5'],
    // The Shellshock example vector (FIRST v3.1 examples: 9.8), as RUSTSEC files it.
    ['RUSTSEC-2021-0003 smallvec: the Shellshock vector', 'crates.io/RUSTSEC-2021-0003.json', 'critical', 9.8, 'CVSS_V3', undefined],
    // The Heartbleed example's C:H/I:N/A:N shape with AC:L (FIRST v3.1 examples: 7.5).
    ['PYSEC-2024-24: the Heartbleed vector', 'pypi/PYSEC-2024-24.json', 'high', 7.5, 'CVSS_V3', undefined],
    // Both v3.1 (5.5) and v4.0 (6.7): the v4.0 vector decides.
    ['GHSA-4265-ccf5-phj5: CVSS_V4 preferred over CVSS_V3', 'maven/GHSA-4265-ccf5-phj5.json', 'medium', 6.7, 'CVSS_V4', undefined],
    ['GHSA-wm9w-rjj3-j356: CVSS_V4 8.7 preferred over CVSS_V3 7.5', 'maven/GHSA-wm9w-rjj3-j356.json', 'high', 8.7, 'CVSS_V4', undefined],
    // v4.0 with E:P: CVSS-B 8.7 (CVSS-BT would be 7.7; both High).
    ['GHSA-3xgq-45jj-v275: v4.0 threat metric not applied', 'npm/GHSA-3xgq-45jj-v275.json', 'high', 8.7, 'CVSS_V4', undefined],
    // v4.0 with E:A and supplemental U:Red.
    ['GHSA-4x49-vf9v-38px: v4.0 with threat and supplemental metrics', 'npm/GHSA-4x49-vf9v-38px.json', 'high', 8.8, 'CVSS_V4', undefined],
    ['GHSA-3pxv-7cmr-fjr4 log4j-core: v4.0 only', 'maven/GHSA-3pxv-7cmr-fjr4.json', 'medium', 6.9, 'CVSS_V4', undefined],
    ['RUSTSEC-2026-0009: v4.0 only', 'crates.io/RUSTSEC-2026-0009.json', 'medium', 6.8, 'CVSS_V4', undefined],
    // Base 9.8 though GitHub rates it HIGH from the temporal score (see the corpus check above).
    ['GHSA-92xj-mqp7-vmcj: base score, temporal metrics ignored', 'npm/GHSA-92xj-mqp7-vmcj.json', 'critical', 9.8, 'CVSS_V3', undefined],
    ['ALPINE-CVE-2025-26519 musl: Alpine record with a vector', 'distro/ALPINE-CVE-2025-26519.json', 'high', 7.0, 'CVSS_V3', undefined],
    // affected[].severity (HSEC records rate per package).
    ['HSEC-2023-0006: CVSS in affected[].severity', 'osv-schema-examples/HSEC-2023-0006.json', 'medium', 5.7, 'CVSS_V3', undefined],
  ])('%s', (_name, file, severity, score, source, statedInDetails) => {
    const r = load(file);
    if (statedInDetails) expect(r.details).toContain(statedInDetails);
    const vector = [...r.severity, ...r.affected.flatMap((a) => a.severity)].find((s) => s.type === source)?.score;
    expect(advisorySeverity(r)).toEqual({ severity, score, vector, source });
    expect(advisorySeverity(r, r.affected[0])).toEqual({ severity, score, vector, source });
  });

  it.each([
    ['GHSA-7j4h-8wpf-rqfh (no vector): GitHub HIGH', 'maven/GHSA-7j4h-8wpf-rqfh.json', 'high'],
    ['GHSA-7w75-32cg-r6g2 (no vector): GitHub MODERATE is medium', 'maven/GHSA-7w75-32cg-r6g2.json', 'medium'],
    ['GHSA-2mhh-w6q8-5hxw (no vector): GitHub LOW', 'npm/GHSA-2mhh-w6q8-5hxw.json', 'low'],
  ])('fallback to GHSA database_specific.severity: %s', (_name, file, severity) => {
    const r = load(file);
    expect(r.severity).toEqual([]);
    expect(advisorySeverity(r, r.affected[0])).toEqual({ severity, source: 'GHSA database_specific.severity' });
  });

  it('a GHSA record whose vector is unusable falls back to its GitHub rating', () => {
    const r = load('maven/GHSA-h4h5-3hr4-j3g2.json');
    const broken = { ...r, severity: [cvss3('CVSS:3.1/AV:A/AC:L/PR:L')] };
    expect(advisorySeverity(broken)).toEqual({ severity: 'medium', source: 'GHSA database_specific.severity' });
  });

  describe('Debian DEBIAN-CVE records: ecosystem_specific.urgency', () => {
    it('DEBIAN-CVE-2016-1585: its CVSS vector (9.8) comes before the "unimportant" urgency', () => {
      const r = load('distro/DEBIAN-CVE-2016-1585.json');
      const bookworm = r.affected.find((a) => a.ecosystem === 'Debian:12')!;
      expect(bookworm.ecosystemSpecific?.urgency).toBe('unimportant');
      expect(advisorySeverity(r, bookworm)).toEqual({ severity: 'critical', score: 9.8, vector: r.severity[0].score, source: 'CVSS_V3' });
    });

    it('DEBIAN-CVE-2016-1585 without its vector: "unimportant" is low', () => {
      const r = { ...load('distro/DEBIAN-CVE-2016-1585.json'), severity: [] };
      expect(advisorySeverity(r, r.affected[0])).toEqual({ severity: 'low', source: 'Debian urgency' });
      expect(advisorySeverity(r)).toEqual({ severity: 'low', source: 'Debian urgency' });
    });

    it('DEBIAN-CVE-2017-6507 without its vector: "not yet assigned" is unknown', () => {
      const r = { ...load('distro/DEBIAN-CVE-2017-6507.json'), severity: [] };
      expect(r.affected[0].ecosystemSpecific?.urgency).toBe('not yet assigned');
      expect(advisorySeverity(r, r.affected[0])).toEqual({ severity: 'unknown', source: 'Debian urgency (not yet assigned)' });
    });

    it.each([
      ['low', 'low'], ['medium', 'medium'], ['high', 'high'], ['unimportant', 'low'],
      ['medium** (tracker annotation)', 'medium'], ['end-of-life', 'unknown'],
    ])('urgency %s', (urgency, severity) => {
      const r = { ...load('distro/DEBIAN-CVE-2016-1585.json'), severity: [] };
      const a = { ...r.affected[0], ecosystemSpecific: { urgency: urgency.split(' ')[0] } };
      expect(advisorySeverity(r, a).severity).toBe(severity);
    });

    it('DEBIAN-CVE-2014-1424 carries no rating at all: unknown', () => {
      expect(advisorySeverity(load('distro/DEBIAN-CVE-2014-1424.json'))).toEqual({ severity: 'unknown', source: 'none' });
    });
  });

  it('UBUNTU-CVE-2025-38094: the Ubuntu severity entry "medium"', () => {
    const r = load('distro/UBUNTU-CVE-2025-38094.json');
    expect(r.severity).toEqual([{ type: 'Ubuntu', score: 'medium' }]);
    expect(advisorySeverity(r, r.affected[0])).toEqual({ severity: 'medium', source: 'Ubuntu severity' });
    expect(advisorySeverity(r)).toEqual({ severity: 'medium', source: 'Ubuntu severity' });
  });

  it.each([
    ['negligible', 'low'], ['low', 'low'], ['medium', 'medium'], ['high', 'high'], ['critical', 'critical'], ['untriaged', 'unknown'],
  ])('Ubuntu priority %s', (priority, severity) => {
    const r = { ...load('distro/UBUNTU-CVE-2025-38094.json'), severity: [{ type: 'Ubuntu', score: priority }] };
    expect(advisorySeverity(r).severity).toBe(severity);
  });

  it.each([
    ['legacy Alpine CVE-2022-27449 (mariadb)', 'distro/CVE-2022-27449.json'],
    ['legacy Alpine CVE-2012-2812 (libexif, versions: null)', 'distro/CVE-2012-2812.json'],
    ['Debian DLA-3008-1 (openssl)', 'distro/DLA-3008-1.json'],
  ])('no rating anywhere is unknown: %s', (_name, file) => {
    const r = load(file);
    expect(advisorySeverity(r, r.affected[0])).toEqual({ severity: 'unknown', source: 'none' });
  });

  it('OSV spec example RUSTSEC-2019-0033: affected[].ecosystem_specific.severity HIGH', () => {
    const r = load('osv-schema-examples/RUSTSEC-2019-0033.json');
    expect(advisorySeverity(r, r.affected[0])).toEqual({ severity: 'high', source: 'ecosystem_specific.severity' });
  });
});

describe('advisorySeverity: the preference order', () => {
  const V2 = 'AV:N/AC:L/Au:N/C:C/I:C/A:C'; // 10.0, but v2
  const V30 = 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'; // 9.8
  const V31 = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'; // 7.5
  const V40 = 'CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'; // 8.5

  it.each([
    ['v4.0 over v3.1 over v2', [{ type: 'CVSS_V2', score: V2 }, cvss3(V31), cvss4(V40)], 'CVSS_V4', V40, 8.5, 'high'],
    ['v3.1 over v3.0 even when v3.0 scores higher', [cvss3(V30), cvss3(V31)], 'CVSS_V3', V31, 7.5, 'high'],
    ['v3.0 over v2', [{ type: 'CVSS_V2', score: V2 }, cvss3(V30)], 'CVSS_V3', V30, 9.8, 'critical'],
    ['v2 alone, rated on NVD v2 bands', [{ type: 'CVSS_V2', score: V2 }], 'CVSS_V2', V2, 10, 'high'],
    ['same version: the higher score', [cvss3('CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), cvss3(V31)], 'CVSS_V3', V31, 7.5, 'high'],
    ['an invalid v4.0 vector is skipped', [cvss4('CVSS:4.0/AV:N/AC:L'), cvss3(V31)], 'CVSS_V3', V31, 7.5, 'high'],
    ['a vector filed under the wrong type is skipped', [cvss3(V40), cvss3(V31)], 'CVSS_V3', V31, 7.5, 'high'],
    ['non-CVSS types are not scored', [{ type: 'Ubuntu', score: 'high' }, cvss3(V31)], 'CVSS_V3', V31, 7.5, 'high'],
  ] as [string, OsvSeverity[], string, string, number, Severity][])('%s', (_name, severity, source, vector, score, rating) => {
    expect(advisorySeverity(record('TEST-1', { severity }))).toEqual({ severity: rating, score, vector, source });
  });

  it("the matched entry's affected[].severity comes before the top-level severity", () => {
    const a = affectedEntry({ severity: [cvss3(V31)] });
    const r = record('TEST-2', { severity: [cvss4(V40)], affected: [a] });
    expect(advisorySeverity(r, a)).toMatchObject({ score: 7.5, source: 'CVSS_V3' });
  });

  it('top-level severity is used when the entry has none', () => {
    const a = affectedEntry();
    expect(advisorySeverity(record('TEST-3', { severity: [cvss3(V31)], affected: [a] }), a)).toMatchObject({ score: 7.5 });
  });

  it('without an entry: top-level first, then any affected[] vector', () => {
    const a = affectedEntry({ severity: [cvss4(V40)] });
    expect(advisorySeverity(record('TEST-4', { severity: [cvss3(V31)], affected: [a] }))).toMatchObject({ score: 7.5 });
    expect(advisorySeverity(record('TEST-5', { affected: [affectedEntry(), a] }))).toMatchObject({ score: 8.5, source: 'CVSS_V4' });
  });

  it('any CVSS vector comes before database ratings', () => {
    const r = record('GHSA-xxxx-xxxx-xxxx', { severity: [cvss3(V31)], databaseSpecific: { severity: 'LOW' } });
    expect(advisorySeverity(r)).toMatchObject({ severity: 'high', source: 'CVSS_V3' });
  });

  it.each([
    ['GHSA MODERATE is medium', record('GHSA-aaaa-bbbb-cccc', { databaseSpecific: { severity: 'MODERATE' } }), 'medium', 'GHSA database_specific.severity'],
    ['GHSA CRITICAL', record('GHSA-aaaa-bbbb-cccc', { databaseSpecific: { severity: 'CRITICAL' } }), 'critical', 'GHSA database_specific.severity'],
    ['another database on the same scale', record('OTHER-1', { databaseSpecific: { severity: 'high' } }), 'high', 'database_specific.severity'],
    ['a rating on an affected[] entry', record('OTHER-2', { affected: [affectedEntry({ databaseSpecific: { severity: 'LOW' } })] }), 'low', 'affected database_specific.severity'],
    ['the most severe of several affected[] ratings', record('OTHER-3', { affected: [affectedEntry({ ecosystemSpecific: { severity: 'LOW' } }), affectedEntry({ ecosystemSpecific: { severity: 'HIGH' } })] }), 'high', 'ecosystem_specific.severity'],
    ['an unknown word is no rating', record('GHSA-aaaa-bbbb-cccc', { databaseSpecific: { severity: 'SEVERE' } }), 'unknown', 'none'],
    ['a non-string is no rating', record('GHSA-aaaa-bbbb-cccc', { databaseSpecific: { severity: 9 } }), 'unknown', 'none'],
    ['nothing at all', record('ALPINE-CVE-2099-0001', { affected: [affectedEntry({ ecosystem: 'Alpine:v3.20' })] }), 'unknown', 'none'],
  ] as [string, OsvRecord, Severity, string][])('database ratings: %s', (_name, r, severity, source) => {
    expect(advisorySeverity(r)).toEqual({ severity, source });
  });
});
