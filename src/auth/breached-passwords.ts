import { hash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * The 100,000 most common passwords of the "10 million passwords" breach corpus (SecLists, MIT; see
 * password-list/NOTICE.md), as sorted 64-bit keys. Rebuilt by scripts/build-breached-list.ts. The folder is not
 * called data/: .gitignore leaves out every data/ (the embedded database's default home).
 */
export const BREACHED_LIST_PATH = fileURLToPath(new URL("./password-list/breached-passwords.bin", import.meta.url));

/**
 * The first 8 bytes of SHA-256 over the NFKC-normalized, lower-cased password. Lower-casing both the list and the
 * candidate makes "PassWord1" a hit for "password1". Shared with the build script, so the two can never disagree.
 * With about 100,000 keys of 64 bits, the chance that a given password is refused by a collision is 100,000 / 2^64.
 */
function keyBytes(password: string): Buffer {
  // crypto.hash: one call, no Hash object; a third of createHash's time per lookup.
  return hash("sha256", password.normalize("NFKC").toLowerCase(), "buffer").subarray(0, 8);
}

/** The key as one unsigned 64-bit number (the file's order). */
export function breachedListKey(password: string): bigint {
  return keyBytes(password).readBigUInt64BE(0);
}

export type BreachedPasswordList = {
  /** How many distinct keys the list holds. */
  size: number;
  has(password: string): boolean;
};

/** The file format: the distinct keys of `passwords`, ascending, 8 bytes each, big-endian, nothing else. */
export function encodeBreachedList(passwords: Iterable<string>): Uint8Array {
  // A typed array sorts numerically, and far faster than an array of bigints with a comparator.
  const keys = BigUint64Array.from(new Set(Array.from(passwords, breachedListKey))).sort();
  const bytes = Buffer.alloc(keys.length * 8);
  keys.forEach((key, index) => bytes.writeBigUInt64BE(key, index * 8));
  return bytes;
}

/**
 * Reads the format above into two 32-bit halves per key (plain number comparisons: a BigInt search is three times
 * slower on Node). Refuses a file that is not in the format (truncated, unsorted) rather than answer wrongly.
 */
export function decodeBreachedList(bytes: Uint8Array): BreachedPasswordList {
  if (bytes.byteLength === 0 || bytes.byteLength % 8 !== 0) throw new Error(`breached password list: ${bytes.byteLength} bytes is not a list of 8-byte keys`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = new Uint32Array(bytes.byteLength / 8);
  const low = new Uint32Array(high.length);
  for (let index = 0; index < high.length; index += 1) {
    high[index] = view.getUint32(index * 8);
    low[index] = view.getUint32(index * 8 + 4);
    if (index > 0 && compareAt(high, low, index - 1, high[index] ?? 0, low[index] ?? 0) >= 0) {
      throw new Error(`breached password list: keys out of order at ${index}`);
    }
  }
  return {
    size: high.length,
    has(password) {
      const key = keyBytes(password);
      return contains(high, low, key.readUInt32BE(0), key.readUInt32BE(4));
    },
  };
}

/** The key at `index` compared with (keyHigh, keyLow): negative, 0 or positive. */
function compareAt(high: Uint32Array, low: Uint32Array, index: number, keyHigh: number, keyLow: number): number {
  const probeHigh = high[index] ?? 0;
  return probeHigh !== keyHigh ? probeHigh - keyHigh : (low[index] ?? 0) - keyLow;
}

/** Binary search: 17 steps for 100,000 keys. */
function contains(high: Uint32Array, low: Uint32Array, keyHigh: number, keyLow: number): boolean {
  let first = 0;
  let last = high.length - 1;
  while (first <= last) {
    const middle = (first + last) >>> 1;
    const order = compareAt(high, low, middle, keyHigh, keyLow);
    if (order === 0) return true;
    if (order < 0) first = middle + 1;
    else last = middle - 1;
  }
  return false;
}

let shipped: Promise<BreachedPasswordList> | undefined;

/**
 * The shipped list, read on first use and then kept for the life of the process: it never changes, and every app
 * a process builds (tests build many) shares the one copy of about 0.8 MB. A failed read is not kept, so the next
 * call tries again.
 */
export function loadBreachedList(): Promise<BreachedPasswordList> {
  shipped ??= readFile(BREACHED_LIST_PATH)
    .then(decodeBreachedList)
    .catch((error: unknown) => {
      shipped = undefined;
      throw error;
    });
  return shipped;
}
