import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingKeys } from "../../src/db/tables/signing-keys.ts";
import { randomUUID } from "node:crypto";
import { createAccessTokens } from "../../src/tokens/access-token.ts";
import { createSigningKeyBox, loadSigningKeys, rotateSigningKey } from "../../src/tokens/signing-keys.ts";
import { useMovableClock } from "../support/clock.ts";
import { bearer, createTestApp, registerUser, TEST_AUTH_SECRET, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

const clock = useMovableClock();

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function rotate(app: TestApp, accessTtlSeconds = 900) {
  const kid = await rotateSigningKey(app.services.database, createSigningKeyBox(TEST_AUTH_SECRET), { accessTtlSeconds });
  await app.services.signingKeys.reload();
  return kid;
}

async function jwks(app: TestApp) {
  return (await app.request("GET", "/.well-known/jwks.json")).json();
}

describe("signing key rotation", () => {
  it("signs new tokens with the new key while tokens of the old one keep working", async () => {
    const before = await registerUser(t);
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    const newKid = await rotate(t);
    expect(newKid).not.toBe(oldKid);

    const published = await jwks(t);
    expect(published.keys.map((key: { kid: string }) => key.kid)).toEqual([newKid, oldKid]);
    expect((await t.request("GET", "/auth/me", undefined, bearer(before.accessToken))).status).toBe(200);

    const after = await (await t.request("POST", "/auth/login", before.account)).json();
    expect(decodeProtectedHeader(after.accessToken).kid).toBe(newKid);
    for (const token of [before.accessToken, after.accessToken]) {
      await expect(jwtVerify(token, createLocalJWKSet(published), { issuer: TEST_ORIGIN, audience: "servauth" })).resolves.toBeTruthy();
    }
  });

  it("stops publishing a retired key once every token it signed has expired", async () => {
    const short = await createTestApp({ ACCESS_TOKEN_TTL: "1" });
    try {
      const { accessToken } = await registerUser(short);
      const oldKid = decodeProtectedHeader(accessToken).kid;
      const newKid = await rotate(short, 1);
      expect((await jwks(short)).keys).toHaveLength(2);
      clock.advance(1100);
      await short.services.signingKeys.reload();
      const kids = (await jwks(short)).keys.map((key: { kid: string }) => key.kid);
      expect(kids).toEqual([newKid]);
      expect(kids).not.toContain(oldKid);
    } finally {
      await short.close();
    }
  });

  it("the current key is the one not retired, whatever the clock said when the keys were made", async () => {
    const oldKid = t.services.signingKeys.current().kid;
    const newKid = await rotate(t);
    // The retired key stamped later than its successor: a clock that stepped back (PGlite's is the process's).
    await t.db.update(signingKeys).set({ createdAt: new Date(Date.now() + 86_400_000) }).where(eq(signingKeys.kid, oldKid));
    await t.services.signingKeys.reload();
    expect(t.services.signingKeys.current().kid).toBe(newKid);
    expect((await jwks(t)).keys.map((key: { kid: string }) => key.kid)).toContain(oldKid);
  });

  it("verifies a token signed with a key another instance added, on first sight of its kid", async () => {
    const box = createSigningKeyBox(TEST_AUTH_SECRET);
    const options = { accessTtlSeconds: 900 };
    const [signer, verifier] = await Promise.all([
      loadSigningKeys(t.services.database, box, options, t.services.logger),
      loadSigningKeys(t.services.database, box, options, t.services.logger),
    ]);
    try {
      await rotateSigningKey(t.services.database, box, options);
      await signer.reload();
      const tokenOptions = { issuer: TEST_ORIGIN, audience: "servauth", ttlSeconds: 60 };
      const token = await createAccessTokens(signer, tokenOptions).sign({ userId: randomUUID(), sessionId: randomUUID(), amr: ["pwd"], aal: 1, authTime: new Date(), roles: ["user"], impersonatorId: null, sessionExpiresAt: new Date(Date.now() + 60_000) });
      expect(verifier.current().kid).not.toBe(signer.current().kid);
      expect(await createAccessTokens(verifier, tokenOptions).verify(token)).not.toBeNull();
      expect(verifier.current().kid).toBe(signer.current().kid);
    } finally {
      signer.close();
      verifier.close();
    }
  });
});
