import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, newAccount, parseSetCookies, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("POST /auth/register", () => {
  it("creates the user, returns tokens and sets the session cookie", async () => {
    const account = newAccount({ email: "  New.User@Example.COM ", username: "new.user" });
    const response = await t.request("POST", "/auth/register", account);
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body).toEqual({
      user: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: "new.user@example.com",
        username: "new.user",
        emailVerified: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
      accessToken: expect.stringMatching(/^eyJ/),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tokenType: "Bearer",
      expiresIn: 900,
    });
    expect(new Date(body.user.createdAt).toISOString()).toBe(body.user.createdAt);
    const cookieHeader = response.headers.getSetCookie().find((c) => c.startsWith("servauth.session="));
    expect(cookieHeader).toMatch(/HttpOnly/);
    expect(cookieHeader).toMatch(/SameSite=Lax/);
    expect(cookieHeader).toMatch(/Path=\//);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("never returns a password hash or internal fields", async () => {
    const response = await t.request("POST", "/auth/register", newAccount());
    const text = await response.text();
    expect(text).not.toMatch(/argon2|password|"name"|"image"/);
  });

  it("answers 409 EMAIL_TAKEN for a registered email, whatever its case", async () => {
    const account = newAccount();
    expect((await t.request("POST", "/auth/register", account)).status).toBe(201);
    const again = await t.request("POST", "/auth/register", { ...account, email: account.email.toUpperCase() });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect(await again.json()).toMatchObject({ code: "EMAIL_TAKEN", status: 409 });
  });

  it("answers 409 USERNAME_TAKEN for a username taken in any case", async () => {
    expect((await t.request("POST", "/auth/register", newAccount({ username: "Casey" }))).status).toBe(201);
    const response = await t.request("POST", "/auth/register", newAccount({ username: "cASEY" }));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: "USERNAME_TAKEN" });
  });

  it("creates exactly one user when the same registration races 20 times", async () => {
    const account = newAccount();
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.request("POST", "/auth/register", account)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const { rows } = await countUsers(account.email);
    expect(rows).toBe(1);
  });

  it.each([
    ["missing email", { password: "correct horse battery" }, ["email"]],
    ["missing password", { email: "a@example.com" }, ["password"]],
    ["malformed email", { email: "not-an-email", password: "correct horse battery" }, ["email"]],
    ["email over 255 chars", { email: `${"a".repeat(250)}@example.com`, password: "correct horse battery" }, ["email"]],
    ["short password", { email: "a@example.com", password: "short" }, ["password"]],
    ["password over 128 chars", { email: "a@example.com", password: "x".repeat(129) }, ["password"]],
    ["username too short", { email: "a@example.com", password: "correct horse battery", username: "ab" }, ["username"]],
    ["username with spaces", { email: "a@example.com", password: "correct horse battery", username: "a b c" }, ["username"]],
    ["wrong types", { email: 42, password: ["x"] }, ["email", "password"]],
    ["a password with a lone surrogate", { email: "a@example.com", password: "password\ud800123" }, ["password"]],
  ])("answers 400 VALIDATION_FAILED for %s, listing the fields", async (_name, body, fields) => {
    const response = await t.request("POST", "/auth/register", body);
    expect(response.status).toBe(400);
    const problem = await response.json();
    expect(problem.code).toBe("VALIDATION_FAILED");
    expect(problem.errors.map((e: { path: string }) => e.path).sort()).toEqual(fields);
  });

  it("sets no cookies on failure", async () => {
    const response = await t.request("POST", "/auth/register", { email: "x" });
    expect(parseSetCookies(response)).toEqual({});
  });
});

async function countUsers(email: string) {
  const { users } = await import("../../src/db/tables/users.ts");
  const { eq } = await import("drizzle-orm");
  const found = await t.db.select().from(users).where(eq(users.email, email));
  return { rows: found.length };
}
