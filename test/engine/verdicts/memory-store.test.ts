/** The shared VerdictStore case table against the in-memory store (both handles are the same object). */
import { MemoryVerdictStore } from '../../../lib/engine/verdicts/memory-store';
import { digestOf, named, smallInventory, verdictStoreContract } from './contract';

verdictStoreContract(async () => {
  const store = new MemoryVerdictStore();
  return { store, other: store };
});

describe('MemoryVerdictStore copies values in and out', () => {
  it('a caller changing what it put or got does not change the store', async () => {
    const store = new MemoryVerdictStore();
    const d = digestOf('copies');
    const v = named(d, 'base');
    await store.put(v);
    (v.plugins as string[]).push('evil@1');
    const got = await store.get(d);
    (got!.reasons as unknown[]).push({});
    expect(await store.get(d)).toEqual({ ...named(d, 'base'), revision: 1 });
    const inv = smallInventory(d);
    await store.putInventory(d, inv);
    (inv.packages as unknown[]).length = 0;
    expect((await store.getInventory(d))!.packages).toHaveLength(2);
  });
});
