import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, parseSetCookies, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const sameOrigin = { origin: TEST_ORIGIN };

describe("GET /auth/me", () => {
  it("returns the user and the session for a bearer token", async () => {
    const { accessToken, user } = await registerUser(t);
    const response = await t.request("GET", "/auth/me", undefined, bearer(accessToken));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user).toEqual(user);
    expect(body.session).toEqual({
      id: expect.any(String),
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
      amr: ["pwd"],
      aal: 1,
      authTime: body.session.createdAt,
    });
    expect(Date.parse(body.session.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("returns the same for the session cookie", async () => {
    const { cookies, user } = await registerUser(t);
    const response = await t.request("GET", "/auth/me", undefined, { cookie: `servauth.session=${cookies["servauth.session"]}` });
    expect(response.status).toBe(200);
    expect((await response.json()).user.id).toBe(user.id);
  });

  it.each([
    ["no credentials", {}],
    ["a garbage bearer token", bearer("garbage")],
    ["a malformed Authorization header", { authorization: "Token abc" }],
    ["an empty bearer", { authorization: "Bearer " }],
    ["a garbage session cookie", { cookie: "servauth.session=nope" }],
  ])("answers 401 UNAUTHENTICATED for %s", async (_name, headers) => {
    const response = await t.request("GET", "/auth/me", undefined, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await response.json()).toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
  });

  it("rejects an expired access token, and one signed by the right key for another audience", async () => {
    const { accessToken } = await registerUser(t);
    const [, payload] = accessToken.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    const key = t.services.signingKeys.current();
    const sign = (overrides: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" }).sign(key.privateKey);
    const now = Math.floor(Date.now() / 1000);
    for (const token of [await sign({ iat: now - 120, exp: now - 60 }), await sign({ aud: "someone-else" })]) {
      expect((await t.request("GET", "/auth/me", undefined, bearer(token))).status).toBe(401);
    }
    // The same claims, freshly signed, are accepted: the rejections above are about exp and aud alone.
    expect((await t.request("GET", "/auth/me", undefined, bearer(await sign({})))).status).toBe(200);
  });
});

describe("POST /auth/logout", () => {
  it("ends the session: its access token is rejected at once and the cookies are cleared", async () => {
    const { accessToken } = await registerUser(t);
    const response = await t.request("POST", "/auth/logout", undefined, bearer(accessToken));
    expect(response.status).toBe(204);
    const cleared = parseSetCookies(response);
    expect(cleared["servauth.session"]).toBe("");
    expect(cleared["servauth.refresh"]).toBe("");
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
  });

  it("ends a cookie session too, and its refresh token stops working", async () => {
    const { cookies, refreshToken } = await registerUser(t);
    const cookie = { cookie: `servauth.session=${cookies["servauth.session"]}` };
    expect((await t.request("POST", "/auth/logout", undefined, { ...cookie, ...sameOrigin })).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, cookie)).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);
  });

  it("leaves the user's other sessions alone", async () => {
    const { account, accessToken } = await registerUser(t);
    const other = await (await t.request("POST", "/auth/login", account)).json();
    await t.request("POST", "/auth/logout", undefined, bearer(accessToken));
    expect((await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).status).toBe(200);
  });

  it("answers 401 without credentials", async () => {
    const response = await t.request("POST", "/auth/logout");
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("UNAUTHENTICATED");
  });
});

describe("POST /auth/refresh", () => {
  it("exchanges a refresh token for a working new pair", async () => {
    const { refreshToken, user } = await registerUser(t);
    const response = await t.request("POST", "/auth/refresh", { refreshToken });
    expect(response.status).toBe(200);
    const pair = await response.json();
    expect(pair).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: "Bearer", expiresIn: 900 });
    expect(pair.refreshToken).not.toBe(refreshToken);
    const me = await t.request("GET", "/auth/me", undefined, bearer(pair.accessToken));
    expect((await me.json()).user.id).toBe(user.id);
    expect((await t.request("POST", "/auth/refresh", { refreshToken: pair.refreshToken })).status).toBe(200);
  });

  it("takes the refresh token from the cookie and sets the next one there", async () => {
    const { cookies } = await registerUser(t);
    const response = await t.request("POST", "/auth/refresh", undefined, {
      cookie: `servauth.refresh=${cookies["servauth.refresh"]}`,
      ...sameOrigin,
    });
    expect(response.status).toBe(200);
    const next = parseSetCookies(response)["servauth.refresh"];
    expect(next).toBe((await response.json()).refreshToken);
    expect(response.headers.getSetCookie().join()).toMatch(/Path=\/auth/);
  });

  it.each([
    ["an unknown token", { refreshToken: "x".repeat(43) }],
    ["no token at all", undefined],
    ["an access token in its place", "access"],
  ])("answers 401 INVALID_REFRESH_TOKEN for %s", async (_name, body) => {
    const { accessToken } = await registerUser(t);
    const response = await t.request("POST", "/auth/refresh", body === "access" ? { refreshToken: accessToken } : body);
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("INVALID_REFRESH_TOKEN");
  });

  it("answers 400 for a refresh token of the wrong type", async () => {
    const response = await t.request("POST", "/auth/refresh", { refreshToken: 12 });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("VALIDATION_FAILED");
  });
});
