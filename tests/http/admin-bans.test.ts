import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { createChallenge, lastCodeTo, verify } from "../support/otp.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** Issue 17: bans end every session at once and refuse every way in until lifted; a temporary one lifts itself. */
let offsetMs = 0;
/** The services' clock: moved past a ban's expiry instead of waiting for it. */
const clock = () => new Date(Date.now() + offsetMs);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { now: clock });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

const HOUR = 3_600_000;

async function expectBanned(response: Response, until?: string) {
  expect(response.status).toBe(403);
  const problem = (await response.json()) as { code: string; until?: string };
  expect(problem.code).toBe("ACCOUNT_BANNED");
  expect(problem.until).toBe(until);
}

describe("POST /auth/admin/users/{id}/ban", () => {
  it("ends every session and refresh token at once; login, refresh and code sign-in answer ACCOUNT_BANNED", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(200); // cached
    const ban = await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "spam" });
    expect(ban.status).toBe(200);
    expect((await ban.json()).user).toMatchObject({ status: "banned", ban: { reason: "spam", expiresAt: null } });

    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken: target.refreshToken })).status).toBe(401);
    await expectBanned(await t.request("POST", "/auth/login", target.account));
    const { challenge } = await createChallenge(t, target.account.email);
    await expectBanned(await verify(t, challenge, await lastCodeTo(t, target.account.email)));
    // A wrong password stays the vague INVALID_CREDENTIALS: the ban is told only to whoever proves a factor.
    expect((await t.request("POST", "/auth/login", { ...target.account, password: "not the password" })).status).toBe(401);
  });

  it("a session that raced the ban (made after its revocation) is refused on its next request and at refresh", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "fraud" });
    // As if a login had checked the user just before the ban and inserted its session just after.
    const raced = await t.services.sessions.create(target.user.id, { ipAddress: null, userAgent: null }, ["pwd"]);
    const token = await t.services.accessTokens.sign({ ...raced.session, sessionId: raced.session.id, roles: ["user"], sessionExpiresAt: raced.session.expiresAt });
    await expectBanned(await t.request("GET", "/auth/me", undefined, bearer(token)));
    await expectBanned(await t.request("POST", "/auth/refresh", { refreshToken: raced.refreshToken }));
    // The refresh ended that session too.
    expect(await t.services.sessions.find({ sessionId: raced.session.id })).toBeNull();
  });

  it("a temporary ban says until when, and lifts itself once expiresAt has passed", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const expiresAt = new Date(Date.now() + HOUR).toISOString();
    const ban = await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "cool down", expiresAt });
    expect((await ban.json()).user.ban).toMatchObject({ expiresAt });
    await expectBanned(await t.request("POST", "/auth/login", target.account), expiresAt);

    offsetMs = HOUR + 1_000;
    expect((await t.request("POST", "/auth/login", target.account)).status).toBe(200);
    const shown = await asAdmin(t, admin.accessToken)("GET", `/auth/admin/users/${target.user.id}`);
    expect((await shown.json()).user).toMatchObject({ ban: null, status: "unverified" });
  });

  it("refuses an expiry in the past, and banning an unknown user is NOT_FOUND", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const request = asAdmin(t, admin.accessToken);
    const past = await request("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "x", expiresAt: new Date(Date.now() - 1_000).toISOString() });
    expect(past.status).toBe(400);
    expect((await past.json()).errors).toEqual([{ path: "expiresAt", message: "Must be in the future" }]);
    expect((await request("POST", "/auth/admin/users/00000000-0000-4000-8000-000000000000/ban", { reason: "x" })).status).toBe(404);
  });

  it("refuses a reason with a NUL, a control character or a lone surrogate, and an expiry past the year 9999, before banning", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const request = asAdmin(t, admin.accessToken);
    for (const body of [{ reason: "a\u0000b" }, { reason: "a\u0007b" }, { reason: "a\udc00b" }, { reason: "x", expiresAt: "10000-01-01T00:00:00Z" }]) {
      const response = await request("POST", `/auth/admin/users/${target.user.id}/ban`, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).code).toBe("VALIDATION_FAILED");
    }
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(200);
  });

  it("the reason stays with the administrators: the user's own trail shows the ban without it", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const reason = "suspected of fraud ring #42 (tip from bank)";
    await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/ban`, { reason });
    await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/unban`);
    const { accessToken } = (await (await t.request("POST", "/auth/login", target.account)).json()) as { accessToken: string };
    type Events = { events: Array<{ type: string; payload: Record<string, unknown> }> };
    const own = (await (await t.request("GET", "/auth/audit", undefined, bearer(accessToken))).json()) as Events;
    const banned = own.events.find((event) => event.type === "admin.user_banned");
    expect(banned?.payload).toEqual({ expiresAt: null, sessionsEnded: 1 });
    const all = (await (await asAdmin(t, admin.accessToken)("GET", `/auth/admin/audit?userId=${target.user.id}&type=admin.user_banned`)).json()) as Events;
    expect(all.events[0]?.payload).toMatchObject({ reason });
  });

  it("unban lets the user sign in again", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const request = asAdmin(t, admin.accessToken);
    await request("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "mistake" });
    const unban = await request("POST", `/auth/admin/users/${target.user.id}/unban`);
    expect((await unban.json()).user).toMatchObject({ ban: null });
    expect((await t.request("POST", "/auth/login", target.account)).status).toBe(200);
  });

  it("an administrator who is banned loses the admin API with their sessions", async () => {
    const ann = await registerAdmin(t);
    const bob = await registerAdmin(t);
    await asAdmin(t, ann.accessToken)("POST", `/auth/admin/users/${bob.user.id}/ban`, { reason: "compromised" });
    expect((await t.request("GET", "/auth/admin/users", undefined, bearer(bob.accessToken))).status).toBe(401);
    await expectBanned(await t.request("POST", "/auth/login", bob.account));
  });
});

describe("sessions and password reset", () => {
  it("lists a user's sessions, ends one, then all, each on the next request", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const second = (await (await t.request("POST", "/auth/login", target.account)).json()) as { accessToken: string };
    const request = asAdmin(t, admin.accessToken);
    const listed = (await (await request("GET", `/auth/admin/users/${target.user.id}/sessions`)).json()) as { sessions: Array<{ id: string }> };
    expect(listed.sessions).toHaveLength(2);
    const sid = JSON.parse(Buffer.from(target.accessToken.split(".")[1] ?? "", "base64url").toString()).sid as string;
    expect((await request("DELETE", `/auth/admin/users/${target.user.id}/sessions/${sid}`)).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(second.accessToken))).status).toBe(200);
    // Another user's session id is no session of this user.
    const otherSid = JSON.parse(Buffer.from(admin.accessToken.split(".")[1] ?? "", "base64url").toString()).sid as string;
    expect((await request("DELETE", `/auth/admin/users/${target.user.id}/sessions/${otherSid}`)).status).toBe(404);
    expect((await request("DELETE", `/auth/admin/users/${target.user.id}/sessions`)).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(second.accessToken))).status).toBe(401);
  });

  it("mails the user a password-reset link", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    expect((await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/password-reset`)).status).toBe(204);
    await t.services.mail.drain();
    expect(t.sentMail.some((mail) => mail.to === target.account.email && mail.subject === "Reset your password")).toBe(true);
  });
});

describe("step-up", () => {
  it("a change needs a recent authentication of the administrator; reading does not", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    offsetMs = 301_000;
    const request = asAdmin(t, admin.accessToken);
    const ban = await request("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "x" });
    expect(ban.status).toBe(401);
    expect((await ban.json()).code).toBe("STEP_UP_REQUIRED");
    expect((await request("GET", `/auth/admin/users/${target.user.id}`)).status).toBe(200);
    expect((await request("POST", "/auth/reauthenticate", { password: admin.account.password })).status).toBe(200);
    expect((await request("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "x" })).status).toBe(200);
  });
});
