import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { API_KEY_LENGTH, apiKeyIdOf, createApiKeyIdReader, generateApiKey, generateClientSecret, isWellFormedClientSecret } from "../../src/machine/secret-format.ts";

describe("API keys (sa_...)", () => {
  it("carry their row's id, which comes back out of a well-formed key", () => {
    for (const id of [randomUUID(), "00000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff"]) {
      const key = generateApiKey(id);
      expect(key).toHaveLength(API_KEY_LENGTH);
      expect(key).toMatch(/^sa_[0-9A-Za-z]+$/);
      expect(apiKeyIdOf(key)).toBe(id);
    }
  });

  it("have a checksum that catches every single-character change and a swap of neighbours", () => {
    const key = generateApiKey(randomUUID());
    for (let index = 3; index < key.length; index += 1) {
      const replacement = key[index] === "0" ? "1" : "0";
      expect(apiKeyIdOf(key.slice(0, index) + replacement + key.slice(index + 1)), `position ${index}`).toBeNull();
    }
    const swapped = key.slice(0, 10) + key[11] + key[10] + key.slice(12);
    if (swapped !== key) expect(apiKeyIdOf(swapped)).toBeNull();
  });

  it("refuse other lengths, prefixes and alphabets", () => {
    const key = generateApiKey(randomUUID());
    for (const bad of [key.slice(0, -1), `${key}0`, `sb_${key.slice(3)}`, `${key.slice(0, 30)}-${key.slice(31)}`, "", "sa_"]) {
      expect(apiKeyIdOf(bad)).toBeNull();
    }
  });

  it("hold at least 256 bits of randomness: no two secret parts alike, every base62 character in use", () => {
    const secrets = Array.from({ length: 200 }, () => generateApiKey(randomUUID()).slice(25, 68));
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(new Set(secrets.join("")).size).toBe(62);
    expect(62 ** 43).toBeGreaterThan(2 ** 256);
  });
});

describe("createApiKeyIdReader (the hot path's apiKeyIdOf)", () => {
  it("answers as apiKeyIdOf does, from memory too: a remembered id part never excuses a wrong checksum", () => {
    const idOf = createApiKeyIdReader(2);
    const id = randomUUID();
    const key = generateApiKey(id);
    const sameIdOtherSecret = generateApiKey(id);
    const lastChar = key.at(-1) === "0" ? "1" : "0";
    for (let round = 0; round < 2; round += 1) {
      expect(idOf(key)).toBe(id);
      expect(idOf(sameIdOtherSecret)).toBe(id);
      expect(idOf(key.slice(0, -1) + lastChar)).toBeNull();
      expect(idOf(`${key.slice(0, 30)}-${key.slice(31)}`)).toBeNull();
    }
  });

  it("keeps answering right past its capacity (the oldest id parts are decoded again)", () => {
    const idOf = createApiKeyIdReader(2);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const keys = ids.map((id) => generateApiKey(id));
    for (let round = 0; round < 2; round += 1) keys.forEach((key, index) => expect(idOf(key)).toBe(ids[index]));
  });
});

describe("client secrets (sacs_...)", () => {
  it("are told apart from typos by their checksum", () => {
    const secret = generateClientSecret();
    expect(isWellFormedClientSecret(secret)).toBe(true);
    expect(isWellFormedClientSecret(`${secret.slice(0, 10)}${secret[10] === "A" ? "B" : "A"}${secret.slice(11)}`)).toBe(false);
    expect(isWellFormedClientSecret(generateApiKey(randomUUID()))).toBe(false);
  });
});
