import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";
import { createChallenge, lastCodeTo, verify } from "../support/otp.ts";

/** Issue 14: every session records how it was made; me, sessions and the access token show it. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ OTP_SIGNUP: "true" });
});
afterAll(async () => {
  await t.close();
});

/** What a downstream API does with an access token: verify it against the published keys, nothing else. */
async function verifyAsThirdParty(token: string) {
  const jwks = (await (await t.request("GET", "/.well-known/jwks.json")).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: TEST_ORIGIN, audience: "servauth", typ: "at+jwt" });
  return payload;
}

type SessionJson = { id: string; createdAt: string; amr: string[]; aal: number; authTime: string; current?: boolean };

async function me(token: string): Promise<SessionJson> {
  const response = await t.request("GET", "/auth/me", undefined, bearer(token));
  expect(response.status).toBe(200);
  return ((await response.json()) as { session: SessionJson }).session;
}

async function signInByCode(email: string) {
  const { challenge } = await createChallenge(t, email);
  const response = await verify(t, challenge, await lastCodeTo(t, email));
  expect(response.status).toBe(200);
  return (await response.json()) as { accessToken: string; refreshToken: string };
}

describe("session assurance", () => {
  it("a password session is amr [pwd], aal 1, authTime its creation: in me, sessions and the token", async () => {
    const { accessToken } = await registerUser(t);
    const session = await me(accessToken);
    expect(session).toMatchObject({ amr: ["pwd"], aal: 1, authTime: session.createdAt });

    const listed = await t.request("GET", "/auth/sessions", undefined, bearer(accessToken));
    const [entry] = ((await listed.json()) as { sessions: SessionJson[] }).sessions;
    expect(entry).toMatchObject({ id: session.id, amr: ["pwd"], aal: 1, authTime: session.authTime, current: true });

    const claims = await verifyAsThirdParty(accessToken);
    expect(claims).toMatchObject({ sid: session.id, amr: ["pwd"], acr: "aal1", auth_time: Math.floor(Date.parse(session.authTime) / 1000) });
  });

  it("a password login is [pwd] too, and a code sign-in is [email]: the emailed code is one factor", async () => {
    const { account } = await registerUser(t);
    const login = (await (await t.request("POST", "/auth/login", account)).json()) as { accessToken: string };
    expect(await me(login.accessToken)).toMatchObject({ amr: ["pwd"], aal: 1 });

    const byCode = await signInByCode(account.email);
    expect(await me(byCode.accessToken)).toMatchObject({ amr: ["email"], aal: 1 });
    expect(await verifyAsThirdParty(byCode.accessToken)).toMatchObject({ amr: ["email"], acr: "aal1" });
  });

  it("a refreshed access token keeps the session's assurance and auth_time", async () => {
    const { refreshToken, accessToken } = await registerUser(t);
    const before = await verifyAsThirdParty(accessToken);
    const refreshed = await t.request("POST", "/auth/refresh", { refreshToken });
    const { accessToken: next } = (await refreshed.json()) as { accessToken: string };
    const after = await verifyAsThirdParty(next);
    expect(after).toMatchObject({ amr: before.amr, acr: before.acr, auth_time: before.auth_time });
    expect(after.jti).not.toBe(before.jti);
  });

  it("serves the assurance from the cache: a warm request reads no session row", async () => {
    const { accessToken } = await registerUser(t);
    await me(accessToken);
    const find = t.services.sessions.find;
    let reads = 0;
    t.services.sessions.find = async (by) => {
      reads += 1;
      return find(by);
    };
    try {
      expect(await me(accessToken)).toMatchObject({ amr: ["pwd"], aal: 1 });
      expect(reads).toBe(0);
    } finally {
      t.services.sessions.find = find;
    }
  });
});
