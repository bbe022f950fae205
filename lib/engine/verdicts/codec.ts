/**
 * The stored form of an inventory: gzip of its JSON. Package lists are repetitive (purls repeat names,
 * locations repeat layer digests) and shrink several-fold; both persistent stores keep this form.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { VerdictStoreCorruptError } from './errors';
import type { StoredInventory } from './port';

/** Decompressed inventories larger than this are refused on read: a damaged body must not exhaust memory. */
export const MAX_INVENTORY_JSON_BYTES = 512 * 1024 * 1024;

/** gzip of the inventory's JSON. */
export function encodeInventory(inventory: StoredInventory): Buffer {
  return gzipSync(JSON.stringify(inventory));
}

/** An inventory back from {@link encodeInventory}'s bytes; throws {@link VerdictStoreCorruptError} for anything else. */
export function decodeInventory(body: Uint8Array, what: string): StoredInventory {
  let inv: StoredInventory;
  try {
    inv = JSON.parse(gunzipSync(body, { maxOutputLength: MAX_INVENTORY_JSON_BYTES }).toString('utf8')) as StoredInventory;
  } catch (err) {
    throw new VerdictStoreCorruptError(`stored inventory of ${what} cannot be decoded`, { cause: err });
  }
  if (typeof inv !== 'object' || inv === null || !Array.isArray(inv.packages) || !Array.isArray(inv.unknowns)) {
    throw new VerdictStoreCorruptError(`stored inventory of ${what} is not an inventory (packages and unknowns lists)`);
  }
  return inv;
}

/** Throws TypeError unless `inventory` has the lists every inventory has (checked before anything is written). */
export function checkInventory(inventory: StoredInventory): void {
  if (typeof inventory !== 'object' || inventory === null || !Array.isArray(inventory.packages) || !Array.isArray(inventory.unknowns)) {
    throw new TypeError('an inventory needs packages and unknowns lists');
  }
}
