import { randomUUID } from "node:crypto";
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMovableClock } from "../support/clock.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";
import { type AccessTokens, createAccessTokens } from "../../src/tokens/access-token.ts";
import { createSecretBox } from "../../src/tokens/secret-box.ts";
import { loadSigningKeys, type SigningKeyStore } from "../../src/tokens/signing-keys.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { AuthMethod } from "../../src/sessions/assurance.ts";

const AUTH_SECRET = "unit-test-auth-secret-0123456789abcdef";
const ISSUER = "https://auth.example.com";
const AUDIENCE = "servauth-test";
const TTL = 900;
const CLAIMS = { userId: "7d0c3e9e-2f7b-4d36-9a0e-5f1b7a1c2d3e", sessionId: "b1e4c5a2-0c9f-4e8e-8f3a-1d2c3b4a5e6f" };
/** What a token is signed for: the claims plus the session's assurance. */
const SUBJECT = {
  ...CLAIMS,
  amr: ["pwd", "email", "mfa"] as AuthMethod[],
  aal: 2 as const,
  authTime: new Date("2026-01-02T03:04:05.678Z"),
  roles: ["admin", "user"],
  impersonatorId: null,
  sessionExpiresAt: new Date(Date.now() + 86_400_000),
};

const silent = createLogger({ level: "silent" });
let database: TestDatabase;
let store: SigningKeyStore;
let tokens: AccessTokens;

beforeAll(async () => {
  database = await openTestDatabase();
  store = await loadSigningKeys(database.handle, createSecretBox(AUTH_SECRET, "signing-keys"), { accessTtlSeconds: TTL }, silent);
  tokens = createAccessTokens(store, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL });
}, 60_000);

afterAll(async () => {
  await database?.close();
});

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));
const decodeJson = (segment: string) => JSON.parse(new TextDecoder().decode(base64url.decode(segment))) as Record<string, unknown>;

function splitToken(token: string): [string, string, string] {
  const parts = token.split(".");
  expect(parts).toHaveLength(3);
  return parts as [string, string, string];
}

/**
 * A token signed with the store's real private key, with every claim as `sign` would set it unless overridden
 * (`undefined` removes a claim). Lets a test change exactly one thing.
 */
async function forge(
  overrides: { payload?: Partial<Record<string, unknown>>; header?: Record<string, unknown> } = {},
): Promise<string> {
  const key = store.current();
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: CLAIMS.userId,
    sid: CLAIMS.sessionId,
    jti: randomUUID(),
    iat: now,
    exp: now + TTL,
    ...overrides.payload,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  const header = { alg: "EdDSA", kid: key.kid, typ: "at+jwt", ...overrides.header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete (header as Record<string, unknown>)[name];
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

describe("sign and verify", () => {
  it("verify returns the claims that were signed", async () => {
    const token = await tokens.sign(SUBJECT);
    expect(await tokens.verify(token)).toEqual(CLAIMS);
  });

  it("carries the session's assurance as amr, acr and auth_time (epoch seconds)", async () => {
    const payload = decodeJwt(await tokens.sign(SUBJECT));
    expect(payload).toMatchObject({ amr: ["pwd", "email", "mfa"], acr: "aal2", auth_time: 1767323045 });
  });

  it("carries the user's roles (RFC 9068 2.2.3.1), and no act claim for the user's own session", async () => {
    const payload = decodeJwt(await tokens.sign(SUBJECT));
    expect(payload.roles).toEqual(["admin", "user"]);
    expect(payload).not.toHaveProperty("act");
  });

  it("an impersonation session's token names the administrator in act.sub (RFC 8693) and ends with the session", async () => {
    const sessionExpiresAt = new Date(Date.now() + 5_000);
    const payload = decodeJwt(await tokens.sign({ ...SUBJECT, impersonatorId: "00000000-0000-4000-8000-0000000000ad", sessionExpiresAt }));
    expect(payload.act).toEqual({ sub: "00000000-0000-4000-8000-0000000000ad" });
    expect(payload.exp).toBe(Math.floor(sessionExpiresAt.getTime() / 1000));
  });

  it("the header names the key and the algorithm", async () => {
    const header = decodeProtectedHeader(await tokens.sign(SUBJECT));
    expect(header.alg).toBe("EdDSA");
    expect(header.kid).toBe(store.current().kid);
    expect(header.typ).toBe("at+jwt");
  });

  it("carries iss, aud, sub, sid, iat, exp and jti, with exp - iat = ttl", async () => {
    const before = Math.floor(Date.now() / 1000);
    const payload = decodeJwt(await tokens.sign(SUBJECT));
    const after = Math.floor(Date.now() / 1000);
    expect(payload.iss).toBe(ISSUER);
    expect(payload.aud).toBe(AUDIENCE);
    expect(payload.sub).toBe(CLAIMS.userId);
    expect(payload.sid).toBe(CLAIMS.sessionId);
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(typeof payload.iat).toBe("number");
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(TTL);
  });

  it("honours a different ttl", async () => {
    const shortLived = createAccessTokens(store, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 60 });
    const payload = decodeJwt(await shortLived.sign(SUBJECT));
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
    expect(shortLived.ttlSeconds).toBe(60);
  });

  it("every token gets its own jti", async () => {
    const jtis = new Set<unknown>();
    for (let i = 0; i < 10; i += 1) jtis.add(decodeJwt(await tokens.sign(SUBJECT)).jti);
    expect(jtis.size).toBe(10);
  });

  it("a third party verifies it with the published JWKS, issuer and audience", async () => {
    const token = await tokens.sign(SUBJECT);
    const jwks = createLocalJWKSet(store.jwks());
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, algorithms: ["EdDSA"] });
    expect(payload.sub).toBe(CLAIMS.userId);
    expect(payload.sid).toBe(CLAIMS.sessionId);
    expect(protectedHeader.kid).toBe(store.current().kid);
    await expect(jwtVerify(token, jwks, { issuer: ISSUER, audience: "someone-else" })).rejects.toThrow();
    await expect(jwtVerify(token, jwks, { issuer: "https://evil.example.com", audience: AUDIENCE })).rejects.toThrow();
  });

  it("the forging helper makes tokens verify() accepts (so the rejections below test one change each)", async () => {
    expect(await tokens.verify(await forge())).toEqual(CLAIMS);
  });
});

describe("verify rejects", () => {
  const clock = useMovableClock();
  it.each(["exp", "iat", "jti"])("a token signed with the real key but without %s", async (claim) => {
    expect(await tokens.verify(await forge({ payload: { [claim]: undefined } }))).toBeNull();
    expect(await tokens.verify(await forge())).not.toBeNull();
  });

  it("a tampered payload", async () => {
    const [header, payload, signature] = splitToken(await tokens.sign(SUBJECT));
    const claims = decodeJson(payload);
    const tampered = `${header}.${encodeJson({ ...claims, sub: "someone-else" })}.${signature}`;
    expect(await tokens.verify(tampered)).toBeNull();
    const extended = `${header}.${encodeJson({ ...claims, exp: (claims.exp as number) + 86_400 })}.${signature}`;
    expect(await tokens.verify(extended)).toBeNull();
  });

  it("a tampered header", async () => {
    const [header, payload, signature] = splitToken(await tokens.sign(SUBJECT));
    const tampered = `${encodeJson({ ...decodeJson(header), extra: 1 })}.${payload}.${signature}`;
    expect(await tokens.verify(tampered)).toBeNull();
  });

  it("a tampered signature", async () => {
    const [header, payload, signature] = splitToken(await tokens.sign(SUBJECT));
    const bytes = base64url.decode(signature);
    for (const index of [0, bytes.length >> 1, bytes.length - 1]) {
      const copy = Uint8Array.from(bytes);
      copy[index] = (copy[index] ?? 0) ^ 0x01;
      expect(await tokens.verify(`${header}.${payload}.${base64url.encode(copy)}`)).toBeNull();
    }
    expect(await tokens.verify(`${header}.${payload}.`)).toBeNull();
    expect(await tokens.verify(`${header}.${payload}`)).toBeNull();
  });

  /** The same bytes spelt another way: RFC 7515 compact serialization is unpadded base64url, one spelling each. */
  it("a non-canonical spelling of a valid token: padding, whitespace, base64 characters, non-zero trailing bits", async () => {
    const token = await tokens.sign(SUBJECT);
    const [header, payload, signature] = splitToken(token);
    // 64 signature bytes take 86 characters; the last one carries 2 bits and 4 that must be zero. Its successor
    // differs only in those 4 bits, so a lenient decoder reads the same signature.
    const last = signature.at(-1) ?? "";
    const trailingBitsSet = `${signature.slice(0, -1)}${String.fromCharCode(last.charCodeAt(0) + 1)}`;
    expect(base64url.decode(trailingBitsSet)).toEqual(base64url.decode(signature));
    const spellings = [
      `${token}==`,
      `${token}=`,
      `${header}=.${payload}.${signature}`,
      `${header}.${payload}.${signature.slice(0, 40)} ${signature.slice(40)}`,
      `${header}.${payload}.${signature.slice(0, 40)}\n${signature.slice(40)}`,
      ` ${token}`,
      `${header}.${payload}.${trailingBitsSet}`,
      `${header}.${payload}.${signature.replaceAll("-", "+").replaceAll("_", "/")}`,
    ].filter((spelling) => spelling !== token);
    expect(await tokens.verify(token)).toEqual(CLAIMS);
    for (const spelling of spellings) expect(await tokens.verify(spelling), spelling).toBeNull();
  });

  it("a token for another audience", async () => {
    const other = createAccessTokens(store, { issuer: ISSUER, audience: "another-api", ttlSeconds: TTL });
    expect(await tokens.verify(await other.sign(SUBJECT))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { aud: "another-api" } }))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { aud: undefined } }))).toBeNull();
  });

  it("a token from another issuer", async () => {
    const other = createAccessTokens(store, { issuer: "https://evil.example.com", audience: AUDIENCE, ttlSeconds: TTL });
    expect(await tokens.verify(await other.sign(SUBJECT))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { iss: undefined } }))).toBeNull();
  });

  it("an expired token (signed with the real key)", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await tokens.verify(await forge({ payload: { iat: now - 2 * TTL, exp: now - TTL } }))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { iat: now - 60, exp: now - 1 } }))).toBeNull();
  });

  it("a token that expires while it is held", async () => {
    const oneSecond = createAccessTokens(store, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 1 });
    const token = await oneSecond.sign(SUBJECT);
    expect(await oneSecond.verify(token)).toEqual(CLAIMS);
    clock.advance(2_100);
    expect(await oneSecond.verify(token)).toBeNull();
  });

  it("a token that is not valid yet", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await tokens.verify(await forge({ payload: { nbf: now + 3600 } }))).toBeNull();
  });

  it("a token without sub or sid", async () => {
    expect(await tokens.verify(await forge({ payload: { sub: undefined } }))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { sid: undefined } }))).toBeNull();
    expect(await tokens.verify(await forge({ payload: { sid: 42 } }))).toBeNull();
  });

  it("a JWT of another type signed with the same key", async () => {
    expect(await tokens.verify(await forge({ header: { typ: undefined } }))).toBeNull();
    expect(await tokens.verify(await forge({ header: { typ: "JWT" } }))).toBeNull();
  });

  it("an unsecured alg:none token", async () => {
    const [, payload] = splitToken(await tokens.sign(SUBJECT));
    const kid = store.current().kid;
    for (const alg of ["none", "None", "NONE"]) {
      const header = encodeJson({ alg, typ: "at+jwt", kid });
      expect(await tokens.verify(`${header}.${payload}.`)).toBeNull();
      expect(await tokens.verify(`${header}.${payload}`)).toBeNull();
    }
  });

  it("an HS256 token, including one keyed with the public key (algorithm confusion)", async () => {
    const kid = store.current().kid;
    const publicJwk = store.jwks().keys[0];
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: ISSUER, aud: AUDIENCE, sub: CLAIMS.userId, sid: CLAIMS.sessionId, jti: randomUUID(), iat: now, exp: now + TTL };
    const secrets = [
      new TextEncoder().encode(AUTH_SECRET),
      base64url.decode(publicJwk?.x ?? ""),
      new TextEncoder().encode(JSON.stringify(publicJwk)),
    ];
    for (const secret of secrets) {
      const hs256 = await new SignJWT(body).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid }).sign(secret);
      expect(await tokens.verify(hs256)).toBeNull();
    }
  });

  it("a token signed by a key the store does not know", async () => {
    const stranger = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: ISSUER, aud: AUDIENCE, sub: CLAIMS.userId, sid: CLAIMS.sessionId, jti: randomUUID(), iat: now, exp: now + TTL };
    const sign = (kid: string | undefined) =>
      new SignJWT(body).setProtectedHeader(kid === undefined ? { alg: "EdDSA", typ: "at+jwt" } : { alg: "EdDSA", typ: "at+jwt", kid }).sign(stranger.privateKey);
    // Unknown kid.
    expect(await tokens.verify(await sign(randomUUID()))).toBeNull();
    // Our kid, someone else's key.
    expect(await tokens.verify(await sign(store.current().kid))).toBeNull();
    // No kid at all, with our own key too.
    expect(await tokens.verify(await sign(undefined))).toBeNull();
    expect(await tokens.verify(await forge({ header: { kid: undefined } }))).toBeNull();
  });

  it("a token signed with a stranger key embedded in the header (jwk / jku)", async () => {
    const stranger = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const jwk = await exportJWK(stranger.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: ISSUER, aud: AUDIENCE, sub: CLAIMS.userId, sid: CLAIMS.sessionId, jti: randomUUID(), iat: now, exp: now + TTL };
    const token = await new SignJWT(body).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", jwk }).sign(stranger.privateKey);
    expect(await tokens.verify(token)).toBeNull();
  });

  it.each([
    "",
    "garbage",
    "a.b.c",
    "...",
    "a.b",
    "eyJhbGciOiJFZERTQSJ9",
    "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0",
    "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.AAAA",
    "Bearer something",
    "null",
    "{}",
    "💥.💥.💥",
    "a".repeat(10_000),
  ])("garbage %j", async (garbage) => {
    expect(await tokens.verify(garbage)).toBeNull();
  });
});

describe("signing keys", () => {
  it("publishes only the public half of the key, with kid, alg and use", () => {
    const { keys } = store.jwks();
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: store.current().kid, alg: "EdDSA", use: "sig" });
    expect(key).not.toHaveProperty("d");
    expect(typeof key?.x).toBe("string");
  });

  it("finds the current key by kid and nothing for an unknown kid", async () => {
    expect(await store.find(store.current().kid)).toBe(store.current());
    expect(await store.find(randomUUID())).toBeUndefined();
  });

  it("a second load on the same database reuses the key", async () => {
    const again = await loadSigningKeys(database.handle, createSecretBox(AUTH_SECRET, "signing-keys"), { accessTtlSeconds: TTL }, silent);
    expect(again.current().kid).toBe(store.current().kid);
    expect(again.jwks()).toEqual(store.jwks());
    // Tokens signed by either store verify with the other.
    const otherTokens = createAccessTokens(again, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL });
    expect(await tokens.verify(await otherTokens.sign(SUBJECT))).toEqual(CLAIMS);
    expect(await otherTokens.verify(await tokens.sign(SUBJECT))).toEqual(CLAIMS);
  });

  it("loading with a different AUTH_SECRET fails with a clear error", async () => {
    const wrongBox = createSecretBox("a-completely-different-auth-secret-0123456789", "signing-keys");
    await expect(loadSigningKeys(database.handle, wrongBox, { accessTtlSeconds: TTL }, silent)).rejects.toThrow(/cannot be opened: was AUTH_SECRET changed\?/);
    await expect(loadSigningKeys(database.handle, wrongBox, { accessTtlSeconds: TTL }, silent)).rejects.toThrow(store.current().kid);
  });

  it("a fresh database gets a different key", async () => {
    const other = await openTestDatabase();
    try {
      const otherStore = await loadSigningKeys(other.handle, createSecretBox(AUTH_SECRET, "signing-keys"), { accessTtlSeconds: TTL }, silent);
      expect(otherStore.current().kid).not.toBe(store.current().kid);
      const otherTokens = createAccessTokens(otherStore, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: TTL });
      expect(await tokens.verify(await otherTokens.sign(SUBJECT))).toBeNull();
    } finally {
      await other.close();
    }
  }, 60_000);
});
