import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, parseSetCookies, registerUser, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("POST /auth/login", () => {
  it("signs in with the right password, with any case and spacing of the email", async () => {
    const { account, user } = await registerUser(t);
    const response = await t.request("POST", "/auth/login", { email: ` ${account.email.toUpperCase()} `, password: account.password });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ user: { id: user.id, email: account.email }, tokenType: "Bearer", expiresIn: 900 });
    expect(parseSetCookies(response)["servauth.session"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await t.request("GET", "/auth/me", undefined, bearer(body.accessToken));
    expect(me.status).toBe(200);
  });

  it("gives every login its own session", async () => {
    const { account, accessToken } = await registerUser(t);
    const second = await (await t.request("POST", "/auth/login", account)).json();
    const first = await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json();
    const other = await (await t.request("GET", "/auth/me", undefined, bearer(second.accessToken))).json();
    expect(first.session.id).not.toBe(other.session.id);
  });

  it("answers a wrong password and an unknown email identically: 401 INVALID_CREDENTIALS", async () => {
    const { account } = await registerUser(t);
    const wrong = await t.request("POST", "/auth/login", { email: account.email, password: "not the password" });
    const unknown = await t.request("POST", "/auth/login", { email: "nobody@example.com", password: "not the password" });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(parseSetCookies(response)).toEqual({});
    }
    const [a, b] = [await wrong.json(), await unknown.json()];
    expect({ ...a, requestId: "" }).toEqual({ ...b, requestId: "" });
    expect(a.code).toBe("INVALID_CREDENTIALS");
  });

  it.each([
    ["missing password", { email: "a@example.com" }],
    ["malformed email", { email: "a", password: "x" }],
    ["empty password", { email: "a@example.com", password: "" }],
    ["password over 128 chars", { email: "a@example.com", password: "x".repeat(129) }],
    ["array body", [1, 2]],
  ])("answers 400 VALIDATION_FAILED for %s", async (_name, body) => {
    const response = await t.request("POST", "/auth/login", body);
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("VALIDATION_FAILED");
  });
});
