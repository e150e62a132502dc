import { describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/tokens/secret-box.ts";

const SECRET = "secret-box-unit-test-secret-0123456789";
const OTHER_SECRET = "another-secret-box-unit-test-secret-987";

const box = createSecretBox(SECRET, "signing-keys");

function parts(sealed: string): [string, Buffer, Buffer, Buffer] {
  const split = sealed.split(".");
  expect(split).toHaveLength(4);
  const [version, iv, tag, ciphertext] = split as [string, string, string, string];
  return [version, Buffer.from(iv, "base64url"), Buffer.from(tag, "base64url"), Buffer.from(ciphertext, "base64url")];
}

function join(version: string, iv: Buffer, tag: Buffer, ciphertext: Buffer): string {
  return [version, iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(".");
}

function flipBit(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe("createSecretBox round trip", () => {
  it.each([
    ["a short string", "hello"],
    ["the empty string", ""],
    ["unicode", "pässwörd 🔑 ключ 鍵"],
    ["a JWK", JSON.stringify({ kty: "OKP", crv: "Ed25519", d: "x".repeat(43), x: "y".repeat(43) })],
    ["a long value", "z".repeat(100_000)],
  ])("opens what it sealed: %s", (_label, plaintext) => {
    expect(box.open(box.seal(plaintext))).toBe(plaintext);
  });

  it("produces v1.<iv>.<tag>.<ciphertext> with a 96-bit IV and a 128-bit tag", () => {
    const sealed = box.seal("hello");
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const [version, iv, tag, ciphertext] = parts(sealed);
    expect(version).toBe("v1");
    expect(iv).toHaveLength(12);
    expect(tag).toHaveLength(16);
    expect(ciphertext).toHaveLength(Buffer.byteLength("hello"));
  });

  it("does not contain the plaintext", () => {
    const plaintext = "very-recognizable-plaintext";
    const sealed = box.seal(plaintext);
    expect(sealed).not.toContain(plaintext);
    expect(sealed).not.toContain(Buffer.from(plaintext).toString("base64url"));
  });

  it("seals the same value differently every time (fresh IV)", () => {
    const seen = new Set<string>();
    const ivs = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const sealed = box.seal("same value");
      seen.add(sealed);
      ivs.add(sealed.split(".")[1] ?? "");
      expect(box.open(sealed)).toBe("same value");
    }
    expect(seen.size).toBe(50);
    expect(ivs.size).toBe(50);
  });

  it("another box with the same secret and purpose opens it (the key is derived, not random)", () => {
    const sealed = box.seal("persisted across restarts");
    expect(createSecretBox(SECRET, "signing-keys").open(sealed)).toBe("persisted across restarts");
  });
});

describe("keys are separated", () => {
  const sealed = box.seal("value");

  it("a different purpose cannot open it", () => {
    expect(() => createSecretBox(SECRET, "otp").open(sealed)).toThrow();
    expect(() => createSecretBox(SECRET, "signing-keys ").open(sealed)).toThrow();
    expect(() => createSecretBox(SECRET, "").open(sealed)).toThrow();
  });

  it("a different secret cannot open it", () => {
    expect(() => createSecretBox(OTHER_SECRET, "signing-keys").open(sealed)).toThrow();
    expect(() => createSecretBox(`${SECRET}x`, "signing-keys").open(sealed)).toThrow();
    expect(() => createSecretBox(SECRET.slice(0, -1), "signing-keys").open(sealed)).toThrow();
  });

  it("values sealed under another purpose or secret cannot be opened here", () => {
    expect(() => box.open(createSecretBox(SECRET, "otp").seal("value"))).toThrow();
    expect(() => box.open(createSecretBox(OTHER_SECRET, "signing-keys").seal("value"))).toThrow();
  });
});

describe("tampering fails", () => {
  const plaintext = "a secret that is long enough to have several blocks of ciphertext";
  const sealed = box.seal(plaintext);
  const [version, iv, tag, ciphertext] = parts(sealed);

  it("the untouched value opens (control)", () => {
    expect(box.open(join(version, iv, tag, ciphertext))).toBe(plaintext);
  });

  it.each([0, 5, 11])("a flipped bit in the IV (byte %i)", (index) => {
    expect(() => box.open(join(version, flipBit(iv, index), tag, ciphertext))).toThrow();
  });

  it.each([0, 7, 15])("a flipped bit in the tag (byte %i)", (index) => {
    expect(() => box.open(join(version, iv, flipBit(tag, index), ciphertext))).toThrow();
  });

  it("a flipped bit anywhere in the ciphertext", () => {
    for (let index = 0; index < ciphertext.length; index += 1) {
      expect(() => box.open(join(version, iv, tag, flipBit(ciphertext, index)))).toThrow();
    }
  });

  it("a truncated or extended ciphertext", () => {
    expect(() => box.open(join(version, iv, tag, ciphertext.subarray(0, ciphertext.length - 1)))).toThrow();
    expect(() => box.open(join(version, iv, tag, ciphertext.subarray(1)))).toThrow();
    expect(() => box.open(join(version, iv, tag, Buffer.concat([ciphertext, Buffer.from([0])])))).toThrow();
    expect(() => box.open(join(version, iv, tag, Buffer.alloc(0)))).toThrow();
  });

  it("a shortened IV", () => {
    expect(() => box.open(join(version, iv.subarray(0, 11), tag, ciphertext))).toThrow();
  });

  it("a tag of all zeros", () => {
    expect(() => box.open(join(version, iv, Buffer.alloc(16), ciphertext))).toThrow();
  });

  it("parts swapped between two sealed values", () => {
    const [, iv2, tag2, ciphertext2] = parts(box.seal(plaintext));
    expect(() => box.open(join(version, iv2, tag, ciphertext))).toThrow();
    expect(() => box.open(join(version, iv, tag2, ciphertext))).toThrow();
    expect(() => box.open(join(version, iv, tag, ciphertext2))).toThrow();
  });

  it("a changed version", () => {
    for (const other of ["v2", "v0", "V1", "", "v1 "]) {
      expect(() => box.open(join(other, iv, tag, ciphertext))).toThrow();
    }
  });
});

describe("malformed values fail", () => {
  it.each([
    "",
    "v1",
    "v1.",
    "v1..",
    "v1...",
    "garbage",
    "v1.abc.def",
    "....",
    "v1.%%%.%%%.%%%",
    "not.a.sealed.value",
    JSON.stringify({ v: 1 }),
  ])("%j", (value) => {
    expect(() => box.open(value)).toThrow();
  });
});

/** Regressions: GCM accepts a truncated tag unless told its length; extra parts must not be ignored. */
describe("strict sealed format", () => {
  const sealed = box.seal("value");
  const [version, iv, tag, ciphertext] = parts(sealed);

  it.each([4, 8, 12, 15])("a tag truncated to %i bytes is rejected", (length) => {
    expect(() => box.open(join(version, iv, tag.subarray(0, length), ciphertext))).toThrow();
  });

  it("a value with a fifth part appended is rejected", () => {
    expect(() => box.open(`${sealed}.extra`)).toThrow();
  });
});
