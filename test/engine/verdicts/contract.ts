/**
 * The shared case table of the VerdictStore port: every implementation (memory, embedded, DynamoDB)
 * registers these named cases with {@link verdictStoreContract} and must pass all of them unchanged.
 * Implementation-specific tests (forced races, on-disk/in-table layout) live next to each implementation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidReferenceError } from '../../../lib/engine/errors';
import { sha256Digest, type Digest, type Package } from '../../../lib/engine/model';
import { encodeInventory } from '../../../lib/engine/verdicts/codec';
import { InvalidVerdictError } from '../../../lib/engine/verdicts/errors';
import { packageKey } from '../../../lib/engine/verdicts/keys';
import { isNewer } from '../../../lib/engine/verdicts/order';
import type { PutVerdictResult, StoredInventory, StoredVerdict, VerdictEvaluation, VerdictStore } from '../../../lib/engine/verdicts/port';

/** A store under test, fresh (empty) for each test. `other` is a second handle on the same data (another process's object, another SDK client). */
export interface OpenedStore {
  readonly store: VerdictStore;
  readonly other: VerdictStore;
}

/** Opens a fresh, empty store (and a second handle on it). */
export type OpenStore = () => Promise<OpenedStore>;

// ---------------------------------------------------------------------------------------------------
// Fixtures

/** A digest per test name. */
export const digestOf = (name: string): Digest => sha256Digest(`verdict-store-test:${name}`);

/** One evaluation of `digest` against feed revision `feedRevision`, finished at `evaluatedAt`. */
export function evaluation(digest: Digest, feedRevision: string, evaluatedAt: string, quarantined = false): VerdictEvaluation {
  return {
    digest,
    ref: 'registry.example/team/app:1.2.3',
    status: quarantined ? 'quarantined' : 'trusted',
    reasons: quarantined ? [{ rule: 'no-critical', message: 'openssl: CVE-2024-0001 is critical', findings: ['CVE-2024-0001'] }] : [],
    counts: { critical: quarantined ? 1 : 0, high: 2, medium: 0, low: 5, unknown: 1 },
    policyHash: 'sha256:5f1c0ffee',
    feedRevision,
    plugins: ['dpkg@1.2.0', 'npm@1.0.1', 'osv-matcher@1.0.0'],
    evaluatedAt,
  };
}

/**
 * Named evaluations of one digest, ordered (feedRevision first, then evaluatedAt) as:
 * olderFeedLater < earlierSameFeed < base = baseOtherOffsets < baseOneNanoLater < laterSameFeed < newerFeedEarlier.
 */
export const EVALUATIONS = {
  base: ['2026-03-01T00:00:00Z', '2026-03-01T10:00:00Z', false],
  /** The same two instants as `base`, spelled with other offsets and precision. */
  baseOtherOffsets: ['2026-03-01T01:00:00+01:00', '2026-03-01T12:00:00.000+02:00', false],
  baseOneNanoLater: ['2026-03-01T00:00:00Z', '2026-03-01T10:00:00.000000001Z', false],
  laterSameFeed: ['2026-03-01T00:00:00Z', '2026-03-01T11:00:00Z', true],
  earlierSameFeed: ['2026-03-01T00:00:00Z', '2026-03-01T09:59:59.999Z', true],
  /** Newer advisories, though the evaluation finished before `base`'s: newer (RELIABILITY.md 29). */
  newerFeedEarlier: ['2026-03-02T00:00:00Z', '2026-03-01T09:00:00Z', true],
  /** Older advisories, though the evaluation finished after everything else: older. */
  olderFeedLater: ['2026-02-28T00:00:00Z', '2026-03-01T23:00:00Z', false],
} as const satisfies Record<string, readonly [string, string, boolean]>;

/** A name of {@link EVALUATIONS}. */
export type EvalName = keyof typeof EVALUATIONS;

/** The named evaluation for `digest`. */
export function named(digest: Digest, name: EvalName): VerdictEvaluation {
  const [feedRevision, evaluatedAt, quarantined]: readonly [string, string, boolean] = EVALUATIONS[name];
  return evaluation(digest, feedRevision, evaluatedAt, quarantined);
}

/** A small real-looking inventory. */
export function smallInventory(digest: Digest): StoredInventory {
  const layer = sha256Digest(`${digest}/layer-0`);
  return {
    os: { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/etc/os-release' },
    packages: [
      pkg('Debian', 'libssl3', '3.0.15-1~deb12u1', layer, { sourceName: 'openssl', sourceVersion: '3.0.15-1~deb12u1', distro: 'Debian:12', arch: 'amd64' }),
      pkg('npm', 'lodash', '4.17.20', layer),
    ],
    unknowns: [{ layer, path: '/usr/lib/node_modules/broken/package.json', reason: 'not JSON' }],
    findings: [{ type: 'secret', id: 'aws-access-key', aliases: [], severity: 'high', layer, path: '/root/.aws/credentials', message: 'AWS access key' }],
    layers: [{ digest: layer, cached: false, packages: 2 }],
  };
}

/**
 * An inventory whose gzip is larger than DynamoDB's 400 KB item limit: `n` packages with random
 * (incompressible) names and versions.
 */
export function largeInventory(n = 30_000): StoredInventory {
  const layer = sha256Digest('large-layer');
  const packages: Package[] = [];
  for (let i = 0; i < n; i++) {
    const name = `pkg-${randomBytes(12).toString('base64url')}`;
    packages.push(pkg('npm', name, `${i % 97}.${randomBytes(3).readUIntBE(0, 3)}.0`, layer));
  }
  return { packages, unknowns: [] };
}

function pkg(ecosystem: Package['ecosystem'], name: string, version: string, layer: Digest, extra: Partial<Package> = {}): Package {
  const type = ecosystem === 'Debian' ? 'deb/debian' : ecosystem.toLowerCase();
  return {
    ecosystem,
    name,
    version,
    purl: `pkg:${type}/${name}@${version}`,
    locations: [{ layer, path: ecosystem === 'Debian' ? '/var/lib/dpkg/status' : `/app/node_modules/${name}/package.json` }],
    cataloger: { name: ecosystem === 'Debian' ? 'dpkg' : 'npm', version: '1.0.0' },
    ...extra,
  };
}

/**
 * `got` is `want`: deep equality for small inventories; for large ones the same JSON text (size and
 * sha256), which is as strict for JSON data and keeps a 10 MB comparison (and a failure's diff) fast.
 */
export function expectSameInventory(got: StoredInventory | undefined, want: StoredInventory): void {
  if (want.packages.length <= 1000) {
    expect(got).toEqual(want);
    return;
  }
  const sum = (v: unknown): { bytes: number; sha256: string } => {
    const json = JSON.stringify(v) ?? '';
    return { bytes: json.length, sha256: createHash('sha256').update(json).digest('hex') };
  };
  expect(got?.packages.length).toBe(want.packages.length);
  expect(sum(got)).toEqual(sum(want));
}

const stored = (digest: Digest, name: EvalName, revision: number): StoredVerdict => ({ ...named(digest, name), revision });

// ---------------------------------------------------------------------------------------------------
// The case tables

/** One put and what it must answer. */
interface PutStep {
  readonly put: EvalName;
  readonly written: boolean;
  /** Revision of the verdict after the step (the one written, or the one that refused it). */
  readonly revision: number;
  /** The verdict after the step. */
  readonly current: EvalName;
}

/** A sequence of puts on one digest, and the history it must leave (newest first). */
interface WriteCase {
  readonly name: string;
  readonly steps: readonly PutStep[];
  readonly history: readonly (readonly [EvalName, number])[];
}

/** The write rule, sequentially (RELIABILITY.md 29: an older evaluation never overwrites a newer one). */
export const WRITE_CASES: readonly WriteCase[] = [
  {
    name: 'first write gets revision 1',
    steps: [{ put: 'base', written: true, revision: 1, current: 'base' }],
    history: [['base', 1]],
  },
  {
    name: 'newer feed revision overwrites (though evaluated earlier) and appends history',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'newerFeedEarlier', written: true, revision: 2, current: 'newerFeedEarlier' },
    ],
    history: [['newerFeedEarlier', 2], ['base', 1]],
  },
  {
    name: 'same feed revision, later evaluatedAt overwrites and appends history',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'laterSameFeed', written: true, revision: 2, current: 'laterSameFeed' },
    ],
    history: [['laterSameFeed', 2], ['base', 1]],
  },
  {
    name: 'one nanosecond later overwrites (instants compared exactly, not as milliseconds)',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'baseOneNanoLater', written: true, revision: 2, current: 'baseOneNanoLater' },
    ],
    history: [['baseOneNanoLater', 2], ['base', 1]],
  },
  {
    name: 'older feed revision is refused (though evaluated later); history unchanged',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'olderFeedLater', written: false, revision: 1, current: 'base' },
    ],
    history: [['base', 1]],
  },
  {
    name: 'same feed revision, earlier evaluatedAt is refused; history unchanged',
    steps: [
      { put: 'laterSameFeed', written: true, revision: 1, current: 'laterSameFeed' },
      { put: 'base', written: false, revision: 1, current: 'laterSameFeed' },
    ],
    history: [['laterSameFeed', 1]],
  },
  {
    name: 'equal evaluation is idempotent: not written again, no new history entry',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'base', written: false, revision: 1, current: 'base' },
      { put: 'base', written: false, revision: 1, current: 'base' },
    ],
    history: [['base', 1]],
  },
  {
    name: 'the same instants spelled with other offsets are the same evaluation',
    steps: [
      { put: 'base', written: true, revision: 1, current: 'base' },
      { put: 'baseOtherOffsets', written: false, revision: 1, current: 'base' },
    ],
    history: [['base', 1]],
  },
  {
    name: 'order older → newer: both in history, newer on top',
    steps: [
      { put: 'olderFeedLater', written: true, revision: 1, current: 'olderFeedLater' },
      { put: 'newerFeedEarlier', written: true, revision: 2, current: 'newerFeedEarlier' },
    ],
    history: [['newerFeedEarlier', 2], ['olderFeedLater', 1]],
  },
  {
    name: 'order newer → older: only the newer',
    steps: [
      { put: 'newerFeedEarlier', written: true, revision: 1, current: 'newerFeedEarlier' },
      { put: 'olderFeedLater', written: false, revision: 1, current: 'newerFeedEarlier' },
    ],
    history: [['newerFeedEarlier', 1]],
  },
  {
    name: 'history is newest first over several revisions, refused ones leave no trace',
    steps: [
      { put: 'earlierSameFeed', written: true, revision: 1, current: 'earlierSameFeed' },
      { put: 'base', written: true, revision: 2, current: 'base' },
      { put: 'olderFeedLater', written: false, revision: 2, current: 'base' },
      { put: 'laterSameFeed', written: true, revision: 3, current: 'laterSameFeed' },
      { put: 'baseOneNanoLater', written: false, revision: 3, current: 'laterSameFeed' },
      { put: 'newerFeedEarlier', written: true, revision: 4, current: 'newerFeedEarlier' },
      { put: 'newerFeedEarlier', written: false, revision: 4, current: 'newerFeedEarlier' },
    ],
    history: [['newerFeedEarlier', 4], ['laterSameFeed', 3], ['base', 2], ['earlierSameFeed', 1]],
  },
];

/**
 * Two evaluations of one digest put at the same time through two handles, in both orders. Defined
 * outcome (whichever lands first): the newer one is current; the history is exactly
 * [newer r2, older r1] (the older landed first and was then replaced) or [newer r1] (the newer landed
 * first and the older was refused). Never the older on top, never a lost or duplicated revision.
 */
export const RACE_CASES: readonly { readonly name: string; readonly first: EvalName; readonly second: EvalName }[] = [
  { name: 'older (by feed revision) started first', first: 'olderFeedLater', second: 'newerFeedEarlier' },
  { name: 'newer (by feed revision) started first', first: 'newerFeedEarlier', second: 'olderFeedLater' },
  { name: 'older (by evaluatedAt) started first', first: 'base', second: 'laterSameFeed' },
  { name: 'newer (by evaluatedAt) started first', first: 'laterSameFeed', second: 'base' },
];

/** Package keys used by {@link INDEX_CASES}: real shapes, and names full of separators. */
const K = {
  openssl: packageKey('Debian:12', 'openssl'),
  lodash: packageKey('npm', 'lodash'),
  scoped: packageKey('npm', '@scope/name#with:odd|chars'),
  maven: packageKey('Maven', 'org.apache.logging.log4j:log4j-core'),
  unicode: packageKey('PyPI', 'naïve-ünïcode'),
  never: packageKey('Go', 'example.com/never/indexed'),
};

/** Package index steps (digest name, keys) and the lookups they must answer (key, digest names). */
export const INDEX_CASES: readonly {
  readonly name: string;
  readonly index: readonly (readonly [string, readonly string[]])[];
  readonly lookups: readonly (readonly [string, readonly string[]])[];
}[] = [
  {
    name: 'one digest, several keys',
    index: [['a', [K.openssl, K.lodash]]],
    lookups: [[K.openssl, ['a']], [K.lodash, ['a']], [K.never, []]],
  },
  {
    name: 'shared keys list every digest, sorted',
    index: [['c', [K.openssl]], ['a', [K.openssl, K.lodash]], ['b', [K.lodash, K.maven]]],
    lookups: [[K.openssl, ['a', 'c']], [K.lodash, ['a', 'b']], [K.maven, ['b']]],
  },
  {
    name: 're-indexing is idempotent and additive',
    index: [['a', [K.openssl]], ['a', [K.openssl, K.openssl]], ['a', [K.lodash]], ['a', []]],
    lookups: [[K.openssl, ['a']], [K.lodash, ['a']]],
  },
  {
    name: 'keys with separators and non-ASCII names are exact',
    index: [['a', [K.scoped, K.unicode]], ['b', [K.maven]]],
    lookups: [[K.scoped, ['a']], [K.unicode, ['a']], [K.maven, ['b']], [packageKey('npm', '@scope/name'), []], [packageKey('PyPI', 'naive-unicode'), []]],
  },
];

// ---------------------------------------------------------------------------------------------------

/** Checks the invariant of any history: revisions n..1 without gaps, each entry strictly newer than the one below, the first one current. */
export function expectWellFormedHistory(history: readonly StoredVerdict[], current: StoredVerdict | undefined): void {
  expect(history.map((h) => h.revision)).toEqual(history.map((_, i) => history.length - i));
  for (let i = 0; i + 1 < history.length; i++) expect(isNewer(history[i], history[i + 1])).toBe(true);
  expect(history[0]).toEqual(current);
}

/** Registers the shared cases for one implementation. */
export function verdictStoreContract(open: OpenStore): void {
  let s: OpenedStore;
  beforeEach(async () => {
    s = await open();
  });

  describe('write rule (sequential)', () => {
    it.each(WRITE_CASES)('$name', async ({ name, steps, history }) => {
      const d = digestOf(name);
      for (const [i, step] of steps.entries()) {
        const r = await s.store.put(named(d, step.put));
        expect({ step: i, written: r.written, revision: r.revision, current: r.current }).toEqual({
          step: i,
          written: step.written,
          revision: step.written ? step.revision : undefined,
          current: stored(d, step.current, step.revision),
        });
        expect(await s.store.get(d)).toEqual(stored(d, step.current, step.revision));
      }
      const got = await s.store.history(d);
      expect(got).toEqual(history.map(([n, rev]) => stored(d, n, rev)));
      expectWellFormedHistory(got, await s.store.get(d));
      // The second handle sees exactly the same.
      expect(await s.other.history(d)).toEqual(got);
    });
  });

  describe('concurrent puts of one digest through two handles', () => {
    it.each(RACE_CASES)('$name: the newer stays; history [newer 2, older 1] or [newer 1]', async ({ name, first, second }) => {
      const newer = isNewer(named(digestOf('x'), first), named(digestOf('x'), second)) ? first : second;
      const older = newer === first ? second : first;
      // Several digests, so that both interleavings get a chance to happen.
      for (let round = 0; round < 8; round++) {
        const d = digestOf(`${name}#${round}`);
        const [a, b] = await Promise.all([s.store.put(named(d, first)), s.other.put(named(d, second))]);
        const results: Record<string, PutVerdictResult> = { [first]: a, [second]: b };
        const history = await s.store.history(d);
        expect(await s.store.get(d)).toEqual(history[0]);
        expectWellFormedHistory(history, await s.other.get(d));
        expect(history[0]).toEqual({ ...named(d, newer), revision: history.length });
        if (history.length === 2) {
          expect(history).toEqual([stored(d, newer, 2), stored(d, older, 1)]);
          expect(results[older]).toEqual({ written: true, revision: 1, current: stored(d, older, 1) });
          expect(results[newer]).toEqual({ written: true, revision: 2, current: stored(d, newer, 2) });
        } else {
          expect(history).toEqual([stored(d, newer, 1)]);
          expect(results[newer]).toEqual({ written: true, revision: 1, current: stored(d, newer, 1) });
          expect(results[older]).toEqual({ written: false, current: stored(d, newer, 1) });
        }
      }
    });

    it('eight evaluations put at once through both handles in shuffled order: the newest stays, history strictly ordered', async () => {
      const d = digestOf('eight at once');
      const evals = Array.from({ length: 8 }, (_, i) => evaluation(d, `2026-04-0${1 + (i >> 1)}T00:00:00Z`, `2026-04-10T00:00:0${i}Z`, i % 2 === 1));
      const order = [5, 2, 7, 0, 3, 6, 1, 4];
      const results = await Promise.all(order.map((i, j) => (j % 2 === 0 ? s.store : s.other).put(evals[i])));
      const history = await s.store.history(d);
      expectWellFormedHistory(history, await s.store.get(d));
      expect(history[0]).toEqual({ ...evals[7], revision: history.length });
      // Every write reported is in the history under its revision; every refusal names a newer current.
      for (const [j, r] of results.entries()) {
        if (r.written) expect(history[history.length - r.revision!]).toEqual({ ...evals[order[j]], revision: r.revision });
        else expect(isNewer(r.current, evals[order[j]])).toBe(true);
      }
      expect(results.filter((r) => r.written)).toHaveLength(history.length);
    });
  });

  describe('history', () => {
    it.each([
      { name: 'limit 1 is the current verdict', limit: 1, revisions: [3] },
      { name: 'limit 2 is the two newest', limit: 2, revisions: [3, 2] },
      { name: 'a limit above the count returns all', limit: 10, revisions: [3, 2, 1] },
      { name: 'no limit returns all', limit: undefined, revisions: [3, 2, 1] },
    ])('$name', async ({ limit, revisions }) => {
      const d = digestOf('history limits');
      for (const n of ['base', 'laterSameFeed', 'newerFeedEarlier'] as const) await s.store.put(named(d, n));
      expect((await s.store.history(d, { limit })).map((h) => h.revision)).toEqual(revisions);
    });

    it('a digest never evaluated has no verdict and an empty history', async () => {
      expect(await s.store.get(digestOf('never'))).toBeUndefined();
      expect(await s.store.history(digestOf('never'))).toEqual([]);
    });

    it.each([0, -1, 1.5])('limit %p is refused', async (limit) => {
      await expect(s.store.history(digestOf('x'), { limit })).rejects.toThrow(RangeError);
    });
  });

  describe('inventory', () => {
    it.each([
      { name: 'small inventory with os, packages, unknowns, findings and layers', make: () => smallInventory(digestOf('small')) },
      { name: 'empty inventory', make: (): StoredInventory => ({ packages: [], unknowns: [] }) },
      { name: 'inventory larger than 400 KB compressed (random package names)', make: () => largeInventory() },
    ])('$name round-trips', async ({ name, make }) => {
      const d = digestOf(`inventory ${name}`);
      const inv = make();
      if (name.includes('400 KB')) expect(encodeInventory(inv).length).toBeGreaterThan(400 * 1024);
      expect(await s.store.getInventory(d)).toBeUndefined();
      await s.store.putInventory(d, inv);
      expectSameInventory(await s.store.getInventory(d), inv);
      expectSameInventory(await s.other.getInventory(d), inv);
    });

    it.each([
      { name: 'large replaced by small', from: () => largeInventory(20_000), to: () => smallInventory(digestOf('r')) },
      { name: 'small replaced by large', from: () => smallInventory(digestOf('r')), to: () => largeInventory(20_000) },
    ])('a new inventory replaces the old one: $name', async ({ name, from, to }) => {
      const d = digestOf(`replace ${name}`);
      await s.store.putInventory(d, from());
      const next = to();
      await s.other.putInventory(d, next);
      expectSameInventory(await s.store.getInventory(d), next);
    });

    it('inventories are per digest and do not make a digest listed', async () => {
      await s.store.putInventory(digestOf('inv-a'), smallInventory(digestOf('inv-a')));
      expect(await s.store.getInventory(digestOf('inv-b'))).toBeUndefined();
      expect(await s.store.listDigests()).toEqual([]);
    });
  });

  describe('package index', () => {
    it.each(INDEX_CASES)('$name', async ({ index, lookups }) => {
      for (const [name, keys] of index) await s.store.indexPackages(digestOf(name), keys);
      for (const [key, names] of lookups) {
        const want = names.map(digestOf).sort();
        expect(await s.store.digestsForPackage(key)).toEqual(want);
        expect(await s.other.digestsForPackage(key)).toEqual(want);
      }
    });
  });

  describe('listDigests', () => {
    it('an empty store lists nothing', async () => {
      expect(await s.store.listDigests()).toEqual([]);
    });

    it('lists every digest with a verdict once, sorted (refused and repeated puts add nothing)', async () => {
      const names = ['one', 'two', 'three', 'four', 'five'];
      for (const n of names) await s.store.put(named(digestOf(n), 'base'));
      await s.other.put(named(digestOf('two'), 'laterSameFeed'));
      await s.other.put(named(digestOf('three'), 'olderFeedLater'));
      await s.store.indexPackages(digestOf('index only'), [K.openssl]);
      expect(await s.store.listDigests()).toEqual(names.map(digestOf).sort());
      expect(await s.other.listDigests()).toEqual(names.map(digestOf).sort());
    });
  });

  describe('validation: nothing is written', () => {
    const d = digestOf('validation');
    it.each([
      { name: 'digest that is not sha256 hex', v: { ...named(d, 'base'), digest: 'sha256:XYZ' as Digest }, error: InvalidReferenceError },
      { name: 'tag instead of a digest', v: { ...named(d, 'base'), digest: 'latest' as Digest }, error: InvalidReferenceError },
      { name: 'feedRevision that is not RFC 3339', v: { ...named(d, 'base'), feedRevision: '42' }, error: InvalidVerdictError },
      { name: 'evaluatedAt without an offset', v: { ...named(d, 'base'), evaluatedAt: '2026-03-01T10:00:00' }, error: InvalidVerdictError },
      { name: 'unknown status', v: { ...named(d, 'base'), status: 'clean' as 'trusted' }, error: InvalidVerdictError },
      { name: 'negative count', v: { ...named(d, 'base'), counts: { ...named(d, 'base').counts, high: -1 } }, error: InvalidVerdictError },
      { name: 'reason without findings', v: { ...named(d, 'base'), reasons: [{ rule: 'r', message: 'm' }] } as unknown as VerdictEvaluation, error: InvalidVerdictError },
    ])('$name', async ({ v, error }) => {
      await expect(s.store.put(v)).rejects.toThrow(error);
      expect(await s.store.listDigests()).toEqual([]);
      expect(await s.store.get(d)).toBeUndefined();
    });

    it('a revision passed in is ignored: the store assigns revisions', async () => {
      const r = await s.store.put({ ...named(d, 'base'), revision: 41 } as VerdictEvaluation);
      expect(r).toEqual({ written: true, revision: 1, current: stored(d, 'base', 1) });
    });

    it.each(['get', 'history', 'getInventory'] as const)('%s refuses a non-digest', async (method) => {
      await expect(s.store[method]('sha256:../../etc/passwd' as Digest)).rejects.toThrow(InvalidReferenceError);
    });
  });
}
