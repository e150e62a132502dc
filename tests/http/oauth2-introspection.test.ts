import { randomUUID } from "node:crypto";
import { decodeJwt, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIGNING_ALGORITHM } from "../../src/tokens/signing-keys.ts";
import { registerAdmin } from "../support/admin.ts";
import { createApiKey } from "../support/api-keys.ts";
import { basicAuth, postForm, registerClient } from "../support/oauth2.ts";
import { bearer, createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/** Issue 19: RFC 7662 introspection and RFC 7009 revocation. */

let t: TestApp;
let resourceServer: { clientId: string; clientSecret: string; adminToken: string };
beforeAll(async () => {
  t = await createTestApp();
  resourceServer = await registerClient(t, { name: "resource server" });
});
afterAll(async () => {
  await t.close();
});

const introspect = async (token: string) => {
  const response = await postForm(t, "/oauth2/introspect", { token }, basicAuth(resourceServer.clientId, resourceServer.clientSecret));
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  return response.json();
};
const revoke = (token: string, headers: Record<string, string> = {}) => postForm(t, "/oauth2/revoke", { token }, headers);

async function machineToken(clientId: string, clientSecret: string) {
  const response = await postForm(t, "/oauth2/token", { grant_type: "client_credentials" }, basicAuth(clientId, clientSecret));
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A token signed with our current key but already expired: what a real token is after its exp. */
async function expiredToken(claims: Record<string, unknown>) {
  const key = t.services.signingKeys.current();
  const iat = Math.floor(Date.now() / 1000) - 3600;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "at+jwt" })
    .setIssuer(TEST_ORIGIN)
    .setAudience("servauth")
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(key.privateKey);
}

describe("POST /oauth2/introspect", () => {
  it("a user's access token: active with its session's assurance and roles; inactive once the session ends or when expired", async () => {
    const { accessToken, user } = await registerUser(t);
    const body = await introspect(accessToken);
    expect(body).toMatchObject({ active: true, token_type: "Bearer", sub: user.id, amr: ["pwd"], acr: "aal1", roles: ["user"] });
    expect(body.exp - body.iat).toBe(900);
    expect(body.client_id).toBeUndefined();
    // The live session's own sid: only the expiry makes it inactive.
    const { sid } = decodeJwt(accessToken);
    const expired = await expiredToken({ sub: user.id, sid });
    expect(await introspect(expired)).toEqual({ active: false });
    expect((await t.request("POST", "/auth/logout", undefined, bearer(accessToken))).status).toBe(204);
    expect(await introspect(accessToken)).toEqual({ active: false });
  });

  it("a banned user's access token is inactive", async () => {
    const admin = await registerAdmin(t);
    const { accessToken, user } = await registerUser(t);
    await t.request("POST", `/auth/admin/users/${user.id}/ban`, { reason: "fraud" }, bearer(admin.accessToken));
    expect(await introspect(accessToken)).toEqual({ active: false });
  });

  it("an API key: active with its owner, scopes and amr [key]; inactive once revoked or expired", async () => {
    const { accessToken, user } = await registerUser(t);
    const { key, apiKey } = await createApiKey(t, accessToken, { scopes: ["reports:read"] });
    const body = await introspect(key);
    expect(body).toMatchObject({ active: true, token_type: "api_key", sub: user.id, scope: "reports:read", amr: ["key"], acr: "aal1" });
    expect(body.exp).toBe(Math.floor(Date.parse(apiKey.expiresAt) / 1000));
    expect((await t.request("DELETE", `/auth/api-keys/${apiKey.id}`, undefined, bearer(accessToken))).status).toBe(204);
    expect(await introspect(key)).toEqual({ active: false });
  });

  it("a machine token: active with client_id and scope; inactive once its client is disabled or deleted, or when expired", async () => {
    const { clientId, clientSecret, adminToken } = await registerClient(t);
    const token = await machineToken(clientId, clientSecret);
    expect(await introspect(token)).toMatchObject({ active: true, token_type: "Bearer", sub: clientId, client_id: clientId, scope: "reports:read reports:write" });
    expect(await introspect(await expiredToken({ sub: clientId, client_id: clientId, scope: "" }))).toEqual({ active: false });
    await t.request("PATCH", `/auth/admin/clients/${clientId}`, { disabled: true }, bearer(adminToken));
    expect(await introspect(token)).toEqual({ active: false });
    await t.request("PATCH", `/auth/admin/clients/${clientId}`, { disabled: false }, bearer(adminToken));
    expect((await introspect(token)).active).toBe(true);
    await t.request("DELETE", `/auth/admin/clients/${clientId}`, undefined, bearer(adminToken));
    expect(await introspect(token)).toEqual({ active: false });
  });

  it("a machine token reports only the scopes its client still holds, and is inactive once it holds none of them", async () => {
    const { clientId, clientSecret, adminToken } = await registerClient(t);
    const token = await machineToken(clientId, clientSecret);
    const narrowed = await t.request("PATCH", `/auth/admin/clients/${clientId}`, { scopes: ["reports:read", "invoices:read"] }, bearer(adminToken));
    expect(narrowed.status).toBe(200);
    // The new scope is not in the token, the withdrawn one is no longer reported.
    expect(await introspect(token)).toMatchObject({ active: true, client_id: clientId, scope: "reports:read" });
    await t.request("PATCH", `/auth/admin/clients/${clientId}`, { scopes: ["invoices:read"] }, bearer(adminToken));
    expect(await introspect(token)).toEqual({ active: false });
    // Given back, the token's scope is reported again: the signed claims are the ceiling, the client's scopes the filter.
    await t.request("PATCH", `/auth/admin/clients/${clientId}`, { scopes: ["reports:read", "reports:write"] }, bearer(adminToken));
    expect(await introspect(token)).toMatchObject({ active: true, scope: "reports:read reports:write" });
  });

  it("anything else is just {active: false}: junk, a client secret, a refresh token, a forged or foreign-issuer JWT", async () => {
    const { refreshToken, accessToken } = await registerUser(t);
    const [header, payload] = accessToken.split(".");
    for (const token of ["junk", "sa_", resourceServer.clientSecret, refreshToken, `${header}.${payload}.${"A".repeat(86)}`, "a".repeat(8000)]) {
      expect(await introspect(token)).toEqual({ active: false });
    }
  });

  it("needs an authenticated client (401 invalid_client), so it answers no stranger", async () => {
    const { accessToken } = await registerUser(t);
    const anonymous = await postForm(t, "/oauth2/introspect", { token: accessToken });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error).toBe("invalid_client");
    const wrong = await postForm(t, "/oauth2/introspect", { token: accessToken }, basicAuth(resourceServer.clientId, "sacs_wrong"));
    expect(wrong.status).toBe(401);
    const missing = await postForm(t, "/oauth2/introspect", {}, basicAuth(resourceServer.clientId, resourceServer.clientSecret));
    expect(missing.status).toBe(400);
    expect((await missing.json()).error).toBe("invalid_request");
  });

  it("works for oauth4webapi's introspection client", async () => {
    const { key } = await createApiKey(t, (await registerUser(t)).accessToken);
    const inProcess = { [oauth.customFetch]: async (url: string, init: RequestInit) => t.app.request(url, init), [oauth.allowInsecureRequests]: true };
    const issuer = new URL(TEST_ORIGIN);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...inProcess, algorithm: "oauth2" }));
    const client = { client_id: resourceServer.clientId };
    const response = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(resourceServer.clientSecret), key, inProcess);
    expect(await oauth.processIntrospectionResponse(as, client, response)).toMatchObject({ active: true, token_type: "api_key" });
    const revoked = await oauth.revocationRequest(as, client, oauth.ClientSecretBasic(resourceServer.clientSecret), key, inProcess);
    await oauth.processRevocationResponse(revoked);
    expect(await introspect(key)).toEqual({ active: false });
  });
});

describe("POST /oauth2/revoke", () => {
  it("a refresh token ends its session: the refresh and the session's access token stop working", async () => {
    const { accessToken, refreshToken } = await registerUser(t);
    const response = await revoke(refreshToken);
    expect(response.status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);
  });

  it("an API key is revoked by whoever holds it, without client credentials; the owner's audit trail shows it", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    expect((await revoke(key)).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(401);
    const audit = await (await t.request("GET", "/auth/audit", undefined, bearer(accessToken))).json();
    expect(audit.events.some((event: { type: string; payload?: { via?: string } }) => event.type === "api_key.deleted")).toBe(true);
  });

  it("answers 200 for unknown, malformed and already revoked tokens alike", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    await revoke(key);
    for (const token of [key, "unknown", "sa_nothing", `sa_${"1".repeat(71)}`]) expect((await revoke(token)).status).toBe(200);
  });

  it("refuses wrong client credentials (401 invalid_client) and does not revoke then", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    const response = await revoke(key, basicAuth(resourceServer.clientId, "sacs_wrong"));
    expect(response.status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(200);
  });

  it("does not revoke with a key's id and someone else's secret", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    const other = await createApiKey(t, accessToken);
    expect((await revoke(key.slice(0, 25) + other.key.slice(25))).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(200);
  });
});
