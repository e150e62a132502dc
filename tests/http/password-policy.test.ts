import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tokenFrom } from "../support/smtp-capture.ts";
import { type FakePwnedPasswords, startFakePwnedPasswords } from "../support/fake-pwned-passwords.ts";
import { bearer, createTestApp, newAccount, parseSetCookies, registerUser, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

/** The problem+json body, after checking the status, the media type and the code. */
async function expectTooCommon(response: Response, field: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const problem = await response.json();
  expect(problem).toEqual({
    type: "urn:servauth:error:PASSWORD_TOO_COMMON",
    title: "The password is too common or too easy to guess",
    status: 400,
    detail: expect.stringMatching(/Choose another one/),
    code: "PASSWORD_TOO_COMMON",
    requestId: expect.any(String),
    errors: [{ path: field, message: expect.any(String) }],
  });
  return problem as { detail: string; errors: Array<{ message: string }> };
}

const login = (app: TestApp, email: string, password: string) => app.request("POST", "/auth/login", { email, password });

async function resetToken(app: TestApp, email: string): Promise<string> {
  expect((await app.request("POST", "/auth/forgot-password", { email })).status).toBe(202);
  const mail = await vi.waitFor(() => {
    const found = app.sentMail.findLast((message) => message.to === email && message.subject === "Reset your password");
    if (found === undefined) throw new Error("no reset mail yet");
    return found;
  });
  return tokenFrom(mail, "/reset-password");
}

describe("POST /auth/register", () => {
  it.each(["password", "123456789", "qwertyuiop", "PassWord1", "ｉｌｏｖｅｙｏｕ"])("refuses the common password %j", async (password) => {
    const account = newAccount({ password });
    const response = await t.request("POST", "/auth/register", account);
    const problem = await expectTooCommon(response, "password");
    expect(problem.detail).toMatch(/most common passwords/);
    expect(parseSetCookies(response)).toEqual({});
    // Nothing was created: the same address registers once the password is good.
    expect((await t.request("POST", "/auth/register", { ...account, password: "violet kettle orbit" })).status).toBe(201);
  });

  it("refuses a password containing the email's name part", async () => {
    const response = await t.request("POST", "/auth/register", { email: "maria.garcia@example.com", password: "Maria.Garcia-1990" });
    const problem = await expectTooCommon(response, "password");
    expect(problem.detail).toMatch(/email address/);
  });

  it("accepts 128 emoji (code points, not UTF-16 units) and signs in with them", async () => {
    const password = "🔑🌙🎲🦊".repeat(32);
    const { account } = await registerUser(t, { password });
    expect((await login(t, account.email, password)).status).toBe(200);
    const tooLong = await t.request("POST", "/auth/register", newAccount({ password: `${password}🔑` }));
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "password", message: "Must be at most 128 characters" }] });
  });

  it("stores the NFKC form: a full-width password signs in typed in ASCII, and a ligature counts as its letters", async () => {
    const { account } = await registerUser(t, { password: "ｓｔｒｏｎｇ ｆｕｌｌｗｉｄｔｈ ２０２４" });
    expect((await login(t, account.email, "strong fullwidth 2024")).status).toBe(200);
    const ligatures = await registerUser(t, { password: "ﬃﬃﬃ" });
    expect((await login(t, ligatures.account.email, "ffiffiffi")).status).toBe(200);
  });
});

describe("POST /auth/reset-password", () => {
  it("refuses a common password and one containing the email's name, and the token stays usable", async () => {
    const { account } = await registerUser(t, { email: `robin.hood@sherwood-${Date.now()}.example.com` });
    const token = await resetToken(t, account.email);
    await expectTooCommon(await t.request("POST", "/auth/reset-password", { token, password: "password123" }), "password");
    await expectTooCommon(await t.request("POST", "/auth/reset-password", { token, password: "I am Robin.Hood!" }), "password");
    expect((await t.request("POST", "/auth/reset-password", { token, password: "sherwood forest archer" })).status).toBe(204);
    expect((await login(t, account.email, "sherwood forest archer")).status).toBe(200);
  });

  it("answers INVALID_TOKEN, not the policy, for an unknown token", async () => {
    const response = await t.request("POST", "/auth/reset-password", { token: "x".repeat(32), password: "password" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "INVALID_TOKEN" });
  });
});

describe("POST /auth/change-password", () => {
  it("refuses a common new password on the newPassword field and keeps the old one", async () => {
    const { account, accessToken } = await registerUser(t);
    const body = { currentPassword: account.password, newPassword: "iloveyou" };
    await expectTooCommon(await t.request("POST", "/auth/change-password", body, bearer(accessToken)), "newPassword");
    const named = { currentPassword: account.password, newPassword: `${account.email.split("@")[0]}!!` };
    await expectTooCommon(await t.request("POST", "/auth/change-password", named, bearer(accessToken)), "newPassword");
    expect((await login(t, account.email, account.password)).status).toBe(200);
    const good = { currentPassword: account.password, newPassword: "granite lantern meadow" };
    expect((await t.request("POST", "/auth/change-password", good, bearer(accessToken))).status).toBe(204);
  });
});

describe("PASSWORD_MIN_LENGTH", () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ PASSWORD_MIN_LENGTH: "12" });
  });
  afterAll(async () => {
    await strict.close();
  });

  it("raises the minimum on every endpoint that sets a password", async () => {
    const short = await strict.request("POST", "/auth/register", newAccount({ password: "violetkettl" }));
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "password", message: "Must be at least 12 characters" }] });
    const { account, accessToken } = await registerUser(strict, { password: "violetkettle" });
    const change = await strict.request("POST", "/auth/change-password", { currentPassword: account.password, newPassword: "amberlantern" }, bearer(accessToken));
    expect(change.status).toBe(204);
    const tooShort = await strict.request("POST", "/auth/change-password", { currentPassword: "amberlantern", newPassword: "amberlanter" }, bearer(accessToken));
    expect(await tooShort.json()).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "newPassword" }] });
  });
});

describe("HIBP_ENABLED", () => {
  let hibp: FakePwnedPasswords;
  let online: TestApp;
  beforeAll(async () => {
    hibp = await startFakePwnedPasswords({ "violet kettle orbit": 42 });
    online = await createTestApp({ HIBP_ENABLED: "true", HIBP_API_URL: hibp.url, HIBP_TIMEOUT_MS: "300" });
  });
  afterAll(async () => {
    await online.close();
    await hibp.close();
  });

  it("refuses a password the range API lists and accepts one it does not", async () => {
    const problem = await expectTooCommon(await online.request("POST", "/auth/register", newAccount({ password: "violet kettle orbit" })), "password");
    expect(problem.detail).toMatch(/data breaches/);
    expect((await online.request("POST", "/auth/register", newAccount({ password: "amber kettle orbit" }))).status).toBe(201);
    expect(hibp.requests.map((request) => request.path)).toEqual([expect.stringMatching(/^\/range\/[0-9A-F]{5}$/), expect.any(String)]);
  });

  it("lets registration through when the API does not answer in time", async () => {
    hibp.behave({ delayMs: 5_000 });
    expect((await online.request("POST", "/auth/register", newAccount({ password: "violet kettle orbit" }))).status).toBe(201);
    hibp.behave("normal");
  });
});
