import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, postForm, registerClient } from "../support/oauth2.ts";
import { bearer, createTestApp, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/** Issue 19: machine clients and the client credentials grant, as a real OAuth client sees them. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ MACHINE_TOKEN_TTL: "300" });
});
afterAll(async () => {
  await t.close();
});

/** oauth4webapi's requests, served by the app in process. */
const inProcess = { [oauth.customFetch]: async (url: string, init: RequestInit) => t.app.request(url, init), [oauth.allowInsecureRequests]: true };

async function discover() {
  const issuer = new URL(TEST_ORIGIN);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...inProcess, algorithm: "oauth2" }));
}

async function jwks() {
  return createLocalJWKSet((await (await t.request("GET", "/.well-known/jwks.json")).json()) as JSONWebKeySet);
}

describe("a real OAuth client (oauth4webapi)", () => {
  it("discovers the server from RFC 8414 metadata, gets a token by client credentials, and verifies it against the JWKS", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    const as = await discover();
    expect(as).toMatchObject({
      issuer: TEST_ORIGIN,
      token_endpoint: `${TEST_ORIGIN}/oauth2/token`,
      introspection_endpoint: `${TEST_ORIGIN}/oauth2/introspect`,
      revocation_endpoint: `${TEST_ORIGIN}/oauth2/revoke`,
      jwks_uri: `${TEST_ORIGIN}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    });
    const client: oauth.Client = { client_id: clientId };
    for (const auth of [oauth.ClientSecretBasic(clientSecret), oauth.ClientSecretPost(clientSecret)]) {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: "reports:read" }, inProcess);
      const issued = await oauth.processClientCredentialsResponse(as, client, response);
      expect(issued).toMatchObject({ token_type: "bearer", expires_in: 300, scope: "reports:read" });
      const { payload, protectedHeader } = await jwtVerify(issued.access_token, await jwks(), { issuer: TEST_ORIGIN, audience: "servauth", typ: "at+jwt" });
      expect(protectedHeader.typ).toBe("at+jwt");
      expect(payload).toMatchObject({ sub: clientId, client_id: clientId, scope: "reports:read" });
      expect(payload.sid).toBeUndefined();
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
    }
  });

  it("grants every scope of the client when none is asked for, and honours the client's own accessTokenTtl", async () => {
    const { clientId, clientSecret } = await registerClient(t, { accessTokenTtl: 120 });
    const response = await postForm(t, "/oauth2/token", { grant_type: "client_credentials" }, basicAuth(clientId, clientSecret));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toMatchObject({ token_type: "Bearer", expires_in: 120, scope: "reports:read reports:write" });
  });
});

describe("a machine token on the user routes", () => {
  it("is refused by the user access-token verifier (no sid): 401 on GET /auth/me", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    const { access_token } = await (await postForm(t, "/oauth2/token", { grant_type: "client_credentials" }, basicAuth(clientId, clientSecret))).json();
    expect(decodeProtectedHeader(access_token).typ).toBe("at+jwt");
    expect(await t.services.accessTokens.verify(access_token)).toBeNull();
    expect((await t.request("GET", "/auth/me", undefined, bearer(access_token))).status).toBe(401);
  });
});

describe("RFC 6749 section 5.2 errors", () => {
  async function expectError(response: Response, status: number, error: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await response.json();
    expect(body).toEqual({ error, error_description: expect.any(String) });
    if (status === 401) expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
  }

  it("invalid_client (401, WWW-Authenticate: Basic): no credentials, a wrong secret, an unknown client, a malformed id, unreadable Basic", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    const grant = { grant_type: "client_credentials" };
    await expectError(await postForm(t, "/oauth2/token", grant), 401, "invalid_client");
    // The last character changed to another (a random secret ends in "x" one time in 62).
    const wrongSecret = `${clientSecret.slice(0, -1)}${clientSecret.endsWith("x") ? "y" : "x"}`;
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth(clientId, wrongSecret)), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth(crypto.randomUUID(), clientSecret)), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth("not-a-uuid", clientSecret)), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", { ...grant, client_id: clientId, client_secret: "wrong" }), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", { ...grant, client_id: clientId }), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", grant, { authorization: "Basic !!!" }), 401, "invalid_client");
    await expectError(await postForm(t, "/oauth2/token", grant, { authorization: `Basic ${Buffer.from("no-colon").toString("base64")}` }), 401, "invalid_client");
  });

  it("invalid_client for a disabled client, a deleted one, and the secret a rotation replaced", async () => {
    const { clientId, clientSecret, adminToken } = await registerClient(t);
    const grant = { grant_type: "client_credentials" };
    const admin = (method: string, path: string, body?: unknown) => t.request(method, path, body, bearer(adminToken));
    expect((await admin("PATCH", `/auth/admin/clients/${clientId}`, { disabled: true })).status).toBe(200);
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth(clientId, clientSecret)), 401, "invalid_client");
    expect((await admin("PATCH", `/auth/admin/clients/${clientId}`, { disabled: false })).status).toBe(200);
    expect((await postForm(t, "/oauth2/token", grant, basicAuth(clientId, clientSecret))).status).toBe(200);
    const rotated = await (await admin("POST", `/auth/admin/clients/${clientId}/rotate-secret`)).json();
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth(clientId, clientSecret)), 401, "invalid_client");
    expect((await postForm(t, "/oauth2/token", grant, basicAuth(clientId, rotated.clientSecret))).status).toBe(200);
    expect((await admin("DELETE", `/auth/admin/clients/${clientId}`)).status).toBe(204);
    await expectError(await postForm(t, "/oauth2/token", grant, basicAuth(clientId, rotated.clientSecret)), 401, "invalid_client");
  });

  it("invalid_request: missing grant_type, a repeated parameter, two authentication methods, a JSON body, a client_id that differs from Basic", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    const basic = basicAuth(clientId, clientSecret);
    await expectError(await postForm(t, "/oauth2/token", {}, basic), 400, "invalid_request");
    const repeated = await t.app.request("/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basic },
      body: "grant_type=client_credentials&scope=reports:read&scope=reports:write",
    });
    await expectError(repeated, 400, "invalid_request");
    await expectError(await postForm(t, "/oauth2/token", { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }, basic), 400, "invalid_request");
    await expectError(await postForm(t, "/oauth2/token", { grant_type: "client_credentials", client_id: crypto.randomUUID() }, basic), 400, "invalid_request");
    await expectError(await t.request("POST", "/oauth2/token", { grant_type: "client_credentials" }, basic), 400, "invalid_request");
  });

  it("unsupported_grant_type for any grant but client_credentials", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    for (const grantType of ["password", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"]) {
      await expectError(await postForm(t, "/oauth2/token", { grant_type: grantType }, basicAuth(clientId, clientSecret)), 400, "unsupported_grant_type");
    }
  });

  it("invalid_scope for a scope the client does not have, and for a malformed one", async () => {
    const { clientId, clientSecret } = await registerClient(t);
    for (const scope of ["admin", "reports:read admin", "", "reports:read  reports:write", 'bad"quote']) {
      await expectError(await postForm(t, "/oauth2/token", { grant_type: "client_credentials", scope }, basicAuth(clientId, clientSecret)), 400, "invalid_scope");
    }
  });
});

describe("rate limits", () => {
  it("RATE_LIMIT_OAUTH_IP counts wrong secrets; RATE_LIMIT_OAUTH_CLIENT counts one client's requests", async () => {
    const limited = await createTestApp({ RATE_LIMIT_OAUTH_IP: "3/60", RATE_LIMIT_OAUTH_CLIENT: "2/60" });
    try {
      const { clientId, clientSecret } = await registerClient(limited);
      const grant = { grant_type: "client_credentials" };
      expect((await postForm(limited, "/oauth2/token", grant, basicAuth(clientId, clientSecret))).status).toBe(200);
      expect((await postForm(limited, "/oauth2/token", grant, basicAuth(clientId, clientSecret))).status).toBe(200);
      const perClient = await postForm(limited, "/oauth2/token", grant, basicAuth(clientId, clientSecret));
      expect(perClient.status).toBe(429);
      const perIp = await postForm(limited, "/oauth2/token", grant, basicAuth(clientId, "wrong"));
      expect(perIp.status).toBe(429);
      expect(perIp.headers.get("retry-after")).not.toBeNull();
    } finally {
      await limited.close();
    }
  });
});
