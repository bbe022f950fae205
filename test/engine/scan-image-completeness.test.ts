import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allChecks } from '../../lib/engine/checks/checks';
import { createClamdClient } from '../../lib/engine/checks/malware/clamd';
import { DEFAULT_LIMITS, resolveLimits } from '../../lib/engine/limits';
import { parsePolicy } from '../../lib/engine/policy';
import { scanImage, type ScanResult } from '../../lib/engine/scan-image';
import { buildImage } from '../../lib/local/builder/image-builder';
import { emptyAdvisories } from '../helpers/advisories';
import { MemorySource } from '../helpers/memory-source';

/**
 * Issue 13, class 1 (RELIABILITY.md 47, 48, 57) end to end: what a scan could not examine reaches the
 * verdict. Before, every image here was TRUSTED — the unknowns were printed and then ignored.
 */
const stanza = (name: string, version: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\n\n`;
const os = { path: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' };
const status = (n: number): string => Array.from({ length: n }, (_, i) => stanza(`pkg${i}`, `1.0-${i}`)).join('');

const rules = (r: ScanResult): string[] => r.verdict.reasons.map((x) => `${x.rule}: ${x.message.split(':')[0]}`);

describe('scanImage: unknowns reach the verdict (RELIABILITY.md 47, 48, 57)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trustctl-completeness-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a clean image with the default limits is trusted and examined in full', async () => {
    const image = buildImage({ layers: [{ entries: [os, { path: 'var/lib/dpkg/status', body: status(50) }, { path: 'usr/bin/tool', body: Buffer.alloc(100_000, 1) }] }] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks() });
    expect(r.verdict.status).toBe('trusted');
    expect(r.images[0].packages).toHaveLength(50);
    const cov = r.images[0].layers[0].coverage!;
    expect(cov.filesExaminedInFull).toBe(cov.regularFiles);
    expect(cov.bytesExaminedInFull).toBe(cov.regularFileBytes);
  });

  it('a package database cut by its cap quarantines (cut-by-cap, naming the cataloger), never a silent 0 packages', async () => {
    const image = buildImage({ layers: [{ entries: [os, { path: 'var/lib/dpkg/status', body: status(200) }] }] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: resolveLimits({ maxCatalogFileBytes: 4096 }), advisories: emptyAdvisories(), checks: allChecks() });
    expect(r.verdict.status).toBe('quarantined');
    // The cut also leaves a broken last stanza (parse-error): both say so.
    expect(rules(r)).toContain('unscannable: cut-by-cap');
    expect(r.images[0].unknowns).toContainEqual(expect.objectContaining({ class: 'cut-by-cap', path: '/var/lib/dpkg/status', consumer: expect.stringContaining('dpkg') }));
  });

  it('the content checks do not share a budget with the catalogers: a big layer keeps its whole inventory (RELIABILITY.md 48)', async () => {
    // 300 MiB of bodies before the package database in tar order: more than the old 256 MiB shared budget.
    const big = Array.from({ length: 6 }, (_, i) => ({ path: `opt/blob${i}`, body: Buffer.alloc(50 * 1024 * 1024, i + 1) }));
    const image = buildImage({ layers: [{ compression: 'gzip', entries: [os, ...big, { path: 'var/lib/dpkg/status', body: status(30) }] }] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks() });
    expect(r.images[0].packages).toHaveLength(30);
    expect(r.images[0].unknowns).toEqual([]);
    expect(r.verdict.status).toBe('trusted');
  }, 120_000);

  it('clamd asked for and down: every file it did not scan is scanner-unavailable, quarantined (RELIABILITY.md 57)', async () => {
    const clamd = createClamdClient({ socketPath: join(dir, 'no-clamd.sock'), timeoutMs: 2000 });
    const image = buildImage({ layers: [{ entries: [os, { path: 'usr/bin/tool', body: Buffer.alloc(10_000, 7) }] }] });
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks({ clamd }) });
    expect(r.verdict.status).toBe('quarantined');
    expect(rules(r)).toEqual(['unscannable: scanner-unavailable']);
    expect(r.images[0].unknowns).toContainEqual(expect.objectContaining({ class: 'scanner-unavailable', consumer: 'clamd', path: '/usr/bin/tool' }));
  });

  it('a team may accept a class with a reasoned, expiring exception — and only that class', async () => {
    const clamd = createClamdClient({ socketPath: join(dir, 'no-clamd.sock'), timeoutMs: 2000 });
    const image = buildImage({ layers: [{ entries: [os, { path: 'usr/bin/tool', body: Buffer.alloc(10_000, 7) }] }] });
    const policy = parsePolicy([
      'apiVersion: trustctl/v1', 'kind: Policy', 'exceptions:',
      '  - scope: { all: true }', '    unknown: scanner-unavailable', '    consumer: clamd', '    reason: clamd is being replaced this week', '    expires: 2099-01-01',
    ].join('\n'));
    const r = await scanImage(MemorySource.fromBuilt(image), { limits: DEFAULT_LIMITS, advisories: emptyAdvisories(), checks: allChecks({ clamd }), policy });
    expect(r.verdict.status).toBe('trusted');
    const cut = await scanImage(MemorySource.fromBuilt(buildImage({ layers: [{ entries: [os, { path: 'var/lib/dpkg/status', body: status(200) }] }] })), {
      limits: resolveLimits({ maxCatalogFileBytes: 4096 }), advisories: emptyAdvisories(), checks: allChecks({ clamd }), policy,
    });
    expect(cut.verdict.status).toBe('quarantined');
    expect(rules(cut)).toContain('unscannable: cut-by-cap');
    expect(rules(cut)).not.toContain('unscannable: scanner-unavailable');
  });
});
