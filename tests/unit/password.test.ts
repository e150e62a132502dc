import { describe, expect, it } from "vitest";
import { createArgon2Hasher, createPasswordChecker, OWASP_ARGON2ID, type PasswordHasher } from "../../src/auth/password.ts";

/** The same code path and hash format as production, with toy parameters. */
const fastHasher = createArgon2Hasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });

/** Wraps a hasher, recording every call; `verifyResult` forces what verify answers. */
function countingHasher(inner: PasswordHasher, verifyResult?: boolean) {
  const calls = { hash: [] as string[], verify: [] as Array<{ passwordHash: string; password: string }> };
  const hasher: PasswordHasher = {
    async hash(password) {
      calls.hash.push(password);
      return inner.hash(password);
    },
    async verify(passwordHash, password) {
      calls.verify.push({ passwordHash, password });
      const result = await inner.verify(passwordHash, password);
      return verifyResult ?? result;
    },
  };
  return { hasher, calls };
}

describe("the default hasher", () => {
  it("uses the OWASP argon2id parameters", () => {
    expect(OWASP_ARGON2ID).toEqual({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  });

  it("produces $argon2id$v=19$m=19456,t=2,p=1$ hashes that verify", async () => {
    const hasher = createArgon2Hasher();
    const passwordHash = await hasher.hash("correct horse battery staple");
    expect(passwordHash.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
    // $argon2id$v=19$m=...$<salt>$<hash>: a 128-bit salt and a 256-bit digest, unpadded base64.
    const [, , , , salt, digest] = passwordHash.split("$");
    expect(salt).toMatch(/^[A-Za-z0-9+/]{22}$/);
    expect(digest).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(await hasher.verify(passwordHash, "correct horse battery staple")).toBe(true);
    expect(await hasher.verify(passwordHash, "correct horse battery stapl")).toBe(false);
  });
});

describe("createArgon2Hasher", () => {
  it("writes the parameters it was given into the hash", async () => {
    expect((await fastHasher.hash("pw")).startsWith("$argon2id$v=19$m=64,t=1,p=1$")).toBe(true);
  });

  it("salts: the same password hashes differently each time, and both verify", async () => {
    const first = await fastHasher.hash("same password");
    const second = await fastHasher.hash("same password");
    expect(first).not.toBe(second);
    expect(await fastHasher.verify(first, "same password")).toBe(true);
    expect(await fastHasher.verify(second, "same password")).toBe(true);
  });

  it("verify is true for the right password and false for others", async () => {
    const passwordHash = await fastHasher.hash("Tr0ub4dor&3");
    expect(await fastHasher.verify(passwordHash, "Tr0ub4dor&3")).toBe(true);
    for (const wrong of ["tr0ub4dor&3", "Tr0ub4dor&", "Tr0ub4dor&3 ", " Tr0ub4dor&3", "", "Tr0ub4dor&33"]) {
      expect(await fastHasher.verify(passwordHash, wrong)).toBe(false);
    }
  });

  it("verifies a hash made with other parameters (they are read from the hash)", async () => {
    const passwordHash = await createArgon2Hasher({ memoryCost: 128, timeCost: 2, parallelism: 1 }).hash("pw");
    expect(await fastHasher.verify(passwordHash, "pw")).toBe(true);
    expect(await fastHasher.verify(passwordHash, "px")).toBe(false);
  });

  it.each([
    "",
    "garbage",
    "$argon2id$",
    "$argon2id$v=19$m=64,t=1,p=1$",
    "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
    "$2b$10$abcdefghijklmnopqrstuuL9Vh0n6cQ3kZ0zZ8yF8dM6wKxYz1y2",
    "$argon2id$v=19$m=999999999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
    "null",
  ])("a hash it cannot read (%j) verifies to false without throwing", async (badHash) => {
    await expect(fastHasher.verify(badHash, "password")).resolves.toBe(false);
  });

  it("a tampered hash verifies to false", async () => {
    const passwordHash = await fastHasher.hash("password");
    const last = passwordHash.at(-1) === "A" ? "B" : "A";
    await expect(fastHasher.verify(`${passwordHash.slice(0, -1)}${last}`, "password")).resolves.toBe(false);
  });

  it.each([
    ["the ﬁ ligature", "ﬁsh-and-chips", "fish-and-chips"],
    ["full-width digits", "pin１２３４５６", "pin123456"],
    ["full-width letters", "ｐａｓｓｗｏｒｄ", "password"],
    ["composed vs decomposed é", "caf\u00e9-au-lait", "cafe\u0301-au-lait"],
    ["superscript two", "x²-secret", "x2-secret"],
  ])("normalizes with NFKC: %s", async (_label, typed, canonical) => {
    expect(typed).not.toBe(canonical);
    const fromTyped = await fastHasher.hash(typed);
    const fromCanonical = await fastHasher.hash(canonical);
    expect(await fastHasher.verify(fromTyped, canonical)).toBe(true);
    expect(await fastHasher.verify(fromCanonical, typed)).toBe(true);
  });

  it("normalization does not merge genuinely different passwords", async () => {
    const passwordHash = await fastHasher.hash("ﬁsh");
    expect(await fastHasher.verify(passwordHash, "ﬂsh")).toBe(false);
    expect(await fastHasher.verify(passwordHash, "fsh")).toBe(false);
  });
});

describe("createPasswordChecker", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["the empty string", ""],
  ])("a %s hash returns false and still runs one argon2 verify", async (_label, missingHash) => {
    const { hasher, calls } = countingHasher(fastHasher);
    const checkPassword = createPasswordChecker(hasher);
    expect(await checkPassword(missingHash, "any password")).toBe(false);
    expect(calls.verify).toHaveLength(1);
    expect(calls.verify[0]?.password).toBe("any password");
    expect(calls.verify[0]?.passwordHash.startsWith("$argon2id$v=19$m=64,t=1,p=1$")).toBe(true);
  });

  it("returns false for a missing hash even if the hasher's verify said yes", async () => {
    const { hasher, calls } = countingHasher(fastHasher, true);
    const checkPassword = createPasswordChecker(hasher);
    expect(await checkPassword(null, "whatever")).toBe(false);
    expect(await checkPassword(undefined, "whatever")).toBe(false);
    expect(calls.verify).toHaveLength(2);
  });

  it("makes the throw-away hash once and reuses it", async () => {
    const { hasher, calls } = countingHasher(fastHasher);
    const checkPassword = createPasswordChecker(hasher);
    await Promise.all([checkPassword(null, "a"), checkPassword(null, "b"), checkPassword(undefined, "c")]);
    await checkPassword(null, "d");
    expect(calls.hash).toHaveLength(1);
    expect(calls.verify).toHaveLength(4);
    expect(new Set(calls.verify.map((call) => call.passwordHash)).size).toBe(1);
  });

  it("a real hash returns true for the right password and false for a wrong one, one verify each", async () => {
    const passwordHash = await fastHasher.hash("correct horse battery staple");
    const { hasher, calls } = countingHasher(fastHasher);
    const checkPassword = createPasswordChecker(hasher);
    expect(await checkPassword(passwordHash, "correct horse battery staple")).toBe(true);
    expect(await checkPassword(passwordHash, "wrong horse battery staple")).toBe(false);
    expect(calls.verify).toEqual([
      { passwordHash, password: "correct horse battery staple" },
      { passwordHash, password: "wrong horse battery staple" },
    ]);
    // The only hash made is the throw-away one, once, when the checker is created.
    expect(calls.hash).toHaveLength(1);
  });

  it("a garbage stored hash returns false", async () => {
    const checkPassword = createPasswordChecker(fastHasher);
    await expect(checkPassword("not-a-hash", "password")).resolves.toBe(false);
  });
});
