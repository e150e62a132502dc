import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("PUT /auth/me", () => {
  it("changes the username, and the next GET /auth/me shows it (not the body it answered before)", async () => {
    const { accessToken, user } = await registerUser(t);
    const before = await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json();
    expect(before.user.username).toBeNull();
    const response = await t.request("PUT", "/auth/me", { username: "Renamed_1" }, bearer(accessToken));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user).toMatchObject({ id: user.id, username: "Renamed_1" });
    expect(Date.parse(body.user.updatedAt)).toBeGreaterThanOrEqual(Date.parse(user.createdAt));
    const me = await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json();
    expect(me.user.username).toBe("Renamed_1");
  });

  it("clears the username with null", async () => {
    const { accessToken } = await registerUser(t, { username: "to_clear" });
    const body = await (await t.request("PUT", "/auth/me", { username: null }, bearer(accessToken))).json();
    expect(body.user.username).toBeNull();
  });

  it("changes the email with the current password and marks it unverified", async () => {
    const { accessToken, account } = await registerUser(t);
    const email = newAccount().email;
    const response = await t.request("PUT", "/auth/me", { email: email.toUpperCase(), currentPassword: account.password }, bearer(accessToken));
    expect(response.status).toBe(200);
    expect((await response.json()).user).toMatchObject({ email, emailVerified: false });
    expect((await t.request("POST", "/auth/login", { email, password: account.password })).status).toBe(200);
    expect((await t.request("POST", "/auth/login", account)).status).toBe(401);
  });

  it("requires the current password to change the email (400), and the right one (401)", async () => {
    const { accessToken } = await registerUser(t);
    const { email } = newAccount();
    const missing = await t.request("PUT", "/auth/me", { email }, bearer(accessToken));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "currentPassword" }] });
    const wrong = await t.request("PUT", "/auth/me", { email, currentPassword: "wrong password" }, bearer(accessToken));
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).code).toBe("INVALID_CREDENTIALS");
  });

  it("answers 409 for an email or username another user has", async () => {
    const other = await registerUser(t, { username: "taken_name" });
    const { accessToken, account } = await registerUser(t);
    const email = await t.request("PUT", "/auth/me", { email: other.account.email, currentPassword: account.password }, bearer(accessToken));
    expect(email.status).toBe(409);
    expect((await email.json()).code).toBe("EMAIL_TAKEN");
    const username = await t.request("PUT", "/auth/me", { username: "TAKEN_NAME" }, bearer(accessToken));
    expect(username.status).toBe(409);
    expect((await username.json()).code).toBe("USERNAME_TAKEN");
  });

  it.each([
    ["an empty body", {}],
    ["a bad username", { username: "x" }],
    ["a bad email", { email: "nope", currentPassword: "whatever1" }],
    ["wrong types", { username: 5 }],
  ])("answers 400 VALIDATION_FAILED for %s", async (_name, body) => {
    const { accessToken } = await registerUser(t);
    const response = await t.request("PUT", "/auth/me", body, bearer(accessToken));
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("VALIDATION_FAILED");
  });

  it("answers 401 without credentials", async () => {
    expect((await t.request("PUT", "/auth/me", { username: "someone" })).status).toBe(401);
  });
});

describe("DELETE /auth/me", () => {
  it("deletes the user: every session's tokens stop working at once and the email is free again", async () => {
    const { accessToken, refreshToken, account } = await registerUser(t);
    const second = await (await t.request("POST", "/auth/login", account)).json();
    const response = await t.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken));
    expect(response.status).toBe(204);
    for (const token of [accessToken, second.accessToken]) {
      expect((await t.request("GET", "/auth/me", undefined, bearer(token))).status).toBe(401);
    }
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);
    expect((await t.request("POST", "/auth/login", account)).status).toBe(401);
    expect((await t.request("POST", "/auth/register", account)).status).toBe(201);
  });

  it("answers 401 INVALID_CREDENTIALS for a wrong password and keeps the account", async () => {
    const { accessToken } = await registerUser(t);
    const response = await t.request("DELETE", "/auth/me", { password: "wrong password" }, bearer(accessToken));
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("INVALID_CREDENTIALS");
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  it("answers 400 without a password and 401 without credentials", async () => {
    const { accessToken } = await registerUser(t);
    expect((await t.request("DELETE", "/auth/me", {}, bearer(accessToken))).status).toBe(400);
    expect((await t.request("DELETE", "/auth/me", { password: "x" })).status).toBe(401);
  });
});
