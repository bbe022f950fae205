import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScanReport } from '../../lib/cli/format/report';
import { parseTrustedBases } from '../../lib/engine/checks/base-image/trusted-bases';
import { DEFAULT_LIMITS } from '../../lib/engine/limits';
import { RegistryClient } from '../../lib/engine/registry/client';
import type { CredentialProvider } from '../../lib/engine/registry/source';
import { buildImage, type LayerSpec } from '../../lib/local/builder/image-builder';
import { pushImage } from '../../lib/local/builder/push';
import { RegistryBaseImageCatalog } from '../../lib/local/base-catalog';
import { writeOciLayout } from '../../lib/local/builder/writers';
import { trustctl } from '../helpers/cli';
import { type RegistryServer, startRegistry } from '../helpers/registry-server';

const anonymous: CredentialProvider = { getCredentials: async () => undefined };

/** A base image: one OS layer, its release date as `created`. */
const base = (release: string, created: string) => buildImage({ created, layers: [{ entries: [{ path: 'etc/os-release', body: `ID=debian\nVERSION_ID="12"\nBUILD="${release}"\n` }] }] });

describe('trusted base images resolved through a real registry (Debian docker-registry)', () => {
  let registry: RegistryServer;
  let client: RegistryClient;
  let dir: string;
  const v1 = base('v1', '2024-01-01T00:00:00Z');
  const v2 = base('v2', '2024-06-01T00:00:00Z');
  // Images built FROM a base: the base's layer first (same bytes → same diff_id), then their own.
  const osLayer = (release: string): LayerSpec => ({ entries: [{ path: 'etc/os-release', body: `ID=debian\nVERSION_ID="12"\nBUILD="${release}"\n` }] });
  const appOn = (release: string) => buildImage({ config: { User: 'app' }, layers: [osLayer(release), { entries: [{ path: 'app/run', body: '#!/bin/sh\n', mode: 0o755 }] }] });

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    client = new RegistryClient({ registry: registry.host, limits: DEFAULT_LIMITS, credentials: anonymous });
    await pushImage(client, 'library/debian', '12-old', v1);
    await pushImage(client, 'library/debian', '12', v2);
    dir = mkdtempSync(join(tmpdir(), 'trustctl-bases-'));
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves digest entries and tag patterns to records with diff_ids and created', async () => {
    const config = parseTrustedBases(`version: 1\nbases:\n  - pattern: ${registry.host}/library/debian:*\n`);
    const catalog = new RegistryBaseImageCatalog(config, { limits: DEFAULT_LIMITS, credentials: anonymous });
    const records = await catalog.entries();
    expect(catalog.problems).toEqual([]);
    expect(records.map((r) => [r.ref.split(':').pop(), r.digest, r.diffIds, r.created, r.trusted]).sort()).toEqual([
      ['12', v2.images[0].manifest.digest, v2.images[0].configJson.rootfs.diff_ids, '2024-06-01T00:00:00Z', true],
      ['12-old', v1.images[0].manifest.digest, v1.images[0].configJson.rootfs.diff_ids, '2024-01-01T00:00:00Z', true],
    ].sort());
  });

  it('an unreachable entry is a problem, not a trusted base', async () => {
    const config = parseTrustedBases(`version: 1\nbases:\n  - pattern: ${registry.host}/library/nothing:*\n`);
    const catalog = new RegistryBaseImageCatalog(config, { limits: DEFAULT_LIMITS, credentials: anonymous });
    expect(await catalog.entries()).toEqual([]);
    expect(catalog.problems[0]).toMatch(/entry 1 \(line 3\)/);
  });

  it.each([
    ['built on the trusted current base: no finding', 'v2', (host: string) => `  - pattern: ${host}/library/debian:*\n`, []],
    ['built on an older digest of the same tag: outdated', 'v1', (host: string) => `  - image: ${host}/library/debian:12\n    digests: [${v1.images[0].manifest.digest}, ${v2.images[0].manifest.digest}]\n`, ['TC-BI-002']],
    ['built on a base nobody trusts: not from a trusted source', 'v3', (host: string) => `  - pattern: ${host}/library/debian:*\n`, ['TC-BI-001']],
  ])('trustctl scan --trusted-bases: %s', async (_n, release, file, want) => {
    const bases = join(dir, `bases-${release}.yaml`);
    // The digests entry names tag 12 for both digests: v1 is an older digest of the same tag.
    writeFileSync(bases, `version: 1\nbases:\n${file(registry.host)}`);
    const layout = join(dir, `app-${release}`);
    writeOciLayout(layout, appOn(release), { tag: 'x' });
    // No vulnerability data here (an empty store): only the base-image findings matter.
    const r = await trustctl('scan', `oci:${layout}:x`, '--format', 'json', '--no-cache', '--trusted-bases', bases, '--data-dir', join(dir, 'empty-store'), '--no-record');
    expect(r.err).toBe('');
    const report = JSON.parse(r.out) as ScanReport;
    expect(report.findings.filter((f) => f.type === 'base-image').map((f) => f.id)).toEqual(want);
  });
});

