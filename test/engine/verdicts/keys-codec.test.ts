/** Package keys of the package → digest index, and the stored inventory form. */
import { gzipSync } from 'node:zlib';
import type { OsvRecord } from '../../../lib/engine/advisories/osv';
import { sha256Digest, type Package } from '../../../lib/engine/model';
import { decodeInventory, encodeInventory } from '../../../lib/engine/verdicts/codec';
import { VerdictStoreCorruptError } from '../../../lib/engine/verdicts/errors';
import { advisoryPackageKeys, inventoryPackageKeys, packageKey } from '../../../lib/engine/verdicts/keys';
import { smallInventory } from './contract';

const layer = sha256Digest('layer');
const pkg = (p: Partial<Package> & Pick<Package, 'ecosystem' | 'name'>): Package => ({
  version: '1.0.0',
  purl: `pkg:generic/${p.name}@1.0.0`,
  locations: [{ layer, path: '/x' }],
  cataloger: { name: 'test', version: '1' },
  ...p,
});

describe('inventoryPackageKeys: what the matcher looks up', () => {
  it.each([
    { name: 'Debian binary package → its source package in the release', p: pkg({ ecosystem: 'Debian', name: 'libssl3', sourceName: 'openssl', distro: 'Debian:12' }), keys: [packageKey('Debian:12', 'openssl')] },
    { name: 'Alpine package without origin → its own name', p: pkg({ ecosystem: 'Alpine', name: 'musl', distro: 'Alpine:v3.20' }), keys: [packageKey('Alpine:v3.20', 'musl')] },
    { name: 'RPM → binary package name', p: pkg({ ecosystem: 'RPM', name: 'openssl-libs', sourceName: 'openssl', distro: 'Rocky Linux:9' }), keys: [packageKey('Rocky Linux:9', 'openssl-libs')] },
    { name: 'OS package of an unknown release → none', p: pkg({ ecosystem: 'Debian', name: 'bash' }), keys: [] },
    { name: 'PyPI name normalised (PEP 503)', p: pkg({ ecosystem: 'PyPI', name: 'Flask_Cors' }), keys: [packageKey('PyPI', 'flask-cors')] },
    { name: 'npm scoped name as is', p: pkg({ ecosystem: 'npm', name: '@babel/core' }), keys: [packageKey('npm', '@babel/core')] },
  ])('$name', ({ p, keys }) => {
    expect(inventoryPackageKeys([p])).toEqual(keys);
  });

  it('deduplicates and sorts', () => {
    const ps = [pkg({ ecosystem: 'npm', name: 'b' }), pkg({ ecosystem: 'npm', name: 'a' }), pkg({ ecosystem: 'npm', name: 'b' })];
    expect(inventoryPackageKeys(ps)).toEqual([packageKey('npm', 'a'), packageKey('npm', 'b')]);
  });

  it('an advisory record yields the same key as the package it affects', () => {
    const record = { affected: [{ ecosystem: 'PyPI', name: 'flask-CORS' }, { ecosystem: 'Debian:12', name: 'openssl' }, { ecosystem: 'PyPI', name: 'Flask_Cors' }] } as unknown as OsvRecord;
    const keys = advisoryPackageKeys(record);
    expect(keys).toEqual([packageKey('Debian:12', 'openssl'), packageKey('PyPI', 'flask-cors')]);
    expect(keys).toEqual(expect.arrayContaining(inventoryPackageKeys([pkg({ ecosystem: 'PyPI', name: 'Flask.Cors' })])));
  });

  it('keys are unambiguous JSON arrays', () => {
    expect(packageKey('Maven:https://repo', 'g:a')).toBe('["Maven:https://repo","g:a"]');
    expect(packageKey('a#b', 'c')).not.toBe(packageKey('a', 'b#c'));
  });
});

describe('inventory codec', () => {
  it('round-trips and compresses', () => {
    const inv = smallInventory(sha256Digest('x'));
    const body = encodeInventory(inv);
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(decodeInventory(body, 'x')).toEqual(inv);
  });

  it.each([
    { name: 'not gzip', body: Buffer.from('{"packages":[],"unknowns":[]}') },
    { name: 'truncated gzip', body: encodeInventory(smallInventory(sha256Digest('x'))).subarray(0, 40) },
    { name: 'gzip of something else', body: gzipSync('{"packages":"no"}') },
  ])('$name → VerdictStoreCorruptError', ({ body }) => {
    expect(() => decodeInventory(body, 'x')).toThrow(VerdictStoreCorruptError);
  });
});
