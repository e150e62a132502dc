import { eq } from "drizzle-orm";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { users } from "../../src/db/tables/users.ts";
import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { codesOf, graphql } from "../support/graphql.ts";
import { enrolTotp, totpAt, verifiedUser } from "../support/mfa.ts";
import { addPasskey, newAuthenticator, type PasskeyJson, problemOf, registrationOptions } from "../support/passkeys.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/** Issue 17: impersonation (RFC 8693 act claim, IMPERSONATION_TTL, no step-up actions) and who the audit trail names. */
const TTL = 600;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ IMPERSONATION_TTL: String(TTL) }, { now: clock });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

type Impersonated = { accessToken: string; refreshToken: string; expiresIn: number; sessionExpiresAt: string; user: { id: string } };

async function impersonate(adminToken: string, userId: string) {
  return asAdmin(t, adminToken)("POST", `/auth/admin/users/${userId}/impersonate`, { reason: "ticket 1234" });
}

const ADMIN_CLIENT = { "user-agent": "AdminLaptop/1.0 (ops-jane)" };

async function impersonation(app: TestApp = t) {
  const admin = await registerAdmin(app);
  const target = await registerUser(app);
  const response = await app.request("POST", `/auth/admin/users/${target.user.id}/impersonate`, { reason: "ticket 1234" }, { ...bearer(admin.accessToken), ...ADMIN_CLIENT });
  expect(response.status, await response.clone().text()).toBe(200);
  return { admin, target, session: (await response.json()) as Impersonated };
}

describe("POST /auth/admin/users/{id}/impersonate", () => {
  it("hands out tokens for the user whose act.sub names the administrator (verified with jose against the JWKS)", async () => {
    const { admin, target, session } = await impersonation();
    const jwks = createLocalJWKSet((await (await t.request("GET", "/.well-known/jwks.json")).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(session.accessToken, jwks, { issuer: TEST_ORIGIN, audience: "servauth" });
    expect(payload).toMatchObject({ sub: target.user.id, act: { sub: admin.user.id }, roles: ["user"] });
    const me = await t.request("GET", "/auth/me", undefined, bearer(session.accessToken));
    expect((await me.json()).user.id).toBe(target.user.id);
    // The user's own tokens carry no act claim.
    expect((await jwtVerify(target.accessToken, jwks, { issuer: TEST_ORIGIN, audience: "servauth" })).payload).not.toHaveProperty("act");
  });

  it("cannot take a sensitive action, re-authenticate, or use the admin API", async () => {
    const { target, session } = await impersonation();
    const as = (method: string, path: string, body?: unknown) => t.request(method, path, body, bearer(session.accessToken));
    const refusals = [
      await as("POST", "/auth/change-password", { currentPassword: target.account.password, newPassword: "taken over password" }),
      await as("PUT", "/auth/me", { email: newAccount().email, currentPassword: target.account.password }),
      await as("DELETE", "/auth/me", { password: target.account.password }),
      await as("DELETE", "/auth/sessions"),
      await as("POST", "/auth/reauthenticate", { password: target.account.password }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe(403);
      expect((await refusal.json()).code).toBe("FORBIDDEN");
    }
    expect((await t.request("POST", "/auth/login", target.account)).status).toBe(200);
  });

  it("cannot add or rename a passkey, even over the user's own registration options (REST and GraphQL)", async () => {
    const { target, session } = await impersonation();
    const key = await addPasskey(t, target.accessToken, newAuthenticator());
    const { response } = newAuthenticator().create(await registrationOptions(t, target.accessToken));
    const refusals = [
      await t.request("POST", "/auth/passkeys/register/verify", { response }, bearer(session.accessToken)),
      await t.request("PATCH", `/auth/passkeys/${key.id}`, { name: "Renamed" }, bearer(session.accessToken)),
    ];
    for (const refusal of refusals) expect(await problemOf(refusal)).toEqual({ status: 403, code: "FORBIDDEN" });
    const mutation = `mutation { renamePasskey(id: "${key.id}", name: "Renamed") { name } }`;
    expect(codesOf(await graphql(t, mutation, { token: session.accessToken }))).toEqual(["FORBIDDEN"]);
    const listed = (await (await t.request("GET", "/auth/passkeys", undefined, bearer(target.accessToken))).json()) as { passkeys: PasskeyJson[] };
    expect(listed.passkeys.map((passkey) => passkey.name)).toEqual([key.name]);
  });

  it("cannot confirm the user's pending second factor, even with a right code: that would hand it the recovery codes", async () => {
    const target = await verifiedUser(t);
    const setup = await t.request("POST", "/auth/mfa/totp/setup", undefined, bearer(target.accessToken));
    const { secret } = (await setup.json()) as { secret: string };
    const admin = await registerAdmin(t);
    const session = (await (await impersonate(admin.accessToken, target.user.id)).json()) as Impersonated;
    const confirm = await t.request("POST", "/auth/mfa/totp/confirm", { code: totpAt(secret, Date.now()) }, bearer(session.accessToken));
    expect(await problemOf(confirm)).toEqual({ status: 403, code: "FORBIDDEN" });
    const emailConfirm = await t.request("POST", "/auth/mfa/email/confirm", { code: "123456" }, bearer(session.accessToken));
    expect(await problemOf(emailConfirm)).toEqual({ status: 403, code: "FORBIDDEN" });
    // The user still confirms it from their own session.
    const own = await t.request("POST", "/auth/mfa/totp/confirm", { code: totpAt(secret, Date.now()) }, bearer(target.accessToken));
    expect(own.status).toBe(200);
  });

  it("cannot end the user's own sessions one by one either, only itself (REST and GraphQL)", async () => {
    const { target, session } = await impersonation();
    const sessionIdOf = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()).sid as string;
    const usersOwn = sessionIdOf(target.accessToken);
    const refused = await t.request("DELETE", `/auth/sessions/${usersOwn}`, undefined, bearer(session.accessToken));
    expect(refused.status).toBe(403);
    expect((await refused.json()).code).toBe("FORBIDDEN");
    expect(codesOf(await graphql(t, `mutation { revokeSession(id: "${usersOwn}") }`, { token: session.accessToken }))).toEqual(["FORBIDDEN"]);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(200);
    expect((await t.request("DELETE", `/auth/sessions/${sessionIdOf(session.accessToken)}`, undefined, bearer(session.accessToken))).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(401);
  });

  it("lives IMPERSONATION_TTL at most: refreshing neither extends it nor outlives it, and its tokens expire with it", async () => {
    const { session } = await impersonation();
    const ends = Date.parse(session.sessionExpiresAt);
    expect(ends - Date.now()).toBeLessThanOrEqual(TTL * 1000);
    expect(ends - Date.now()).toBeGreaterThan((TTL - 60) * 1000);

    offsetMs = (TTL - 120) * 1000;
    const refreshed = await t.request("POST", "/auth/refresh", { refreshToken: session.refreshToken });
    expect(refreshed.status).toBe(200);
    const { refreshToken } = (await refreshed.json()) as { refreshToken: string };
    const listed = await t.services.sessions.find({ sessionId: JSON.parse(Buffer.from(session.accessToken.split(".")[1] ?? "", "base64url").toString()).sid });
    expect(listed?.session.expiresAt.getTime()).toBe(ends);

    offsetMs = TTL * 1000 + 1_000;
    expect((await t.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(401);
  });

  it("an administrator cannot be impersonated (CANNOT_IMPERSONATE_ADMIN)", async () => {
    const ann = await registerAdmin(t);
    const bob = await registerAdmin(t);
    const response = await impersonate(ann.accessToken, bob.user.id);
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe("CANNOT_IMPERSONATE_ADMIN");
  });

  it("shows as impersonated in the user's GET /auth/sessions, evicts none of theirs, and is audited on both accounts", async () => {
    const { admin, target, session } = await impersonation();
    const listed = (await (await t.request("GET", "/auth/sessions", undefined, bearer(target.accessToken))).json()) as {
      sessions: Array<{ impersonated: boolean; current: boolean }>;
    };
    expect(listed.sessions.map((s) => [s.current, s.impersonated]).sort()).toEqual([
      [false, true],
      [true, false],
    ]);
    const own = (await (await t.request("GET", "/auth/audit", undefined, bearer(target.accessToken))).json()) as { events: Array<Record<string, unknown>> };
    const started = own.events.find((event) => event.type === "admin.impersonation_started");
    // The user learns what happened and why, not which administrator did it nor from where.
    expect(started).toMatchObject({ payload: { reason: "ticket 1234" }, ipAddress: null, userAgent: null, sessionId: null });
    expect(started).not.toHaveProperty("actorId");
    const adminOwn = (await (await t.request("GET", "/auth/audit", undefined, bearer(admin.accessToken))).json()) as { events: Array<Record<string, unknown>> };
    expect(adminOwn.events.find((event) => event.type === "admin.impersonation_started")).toMatchObject({
      payload: { reason: "ticket 1234", impersonatedUserId: target.user.id },
    });
    expect(session.user.id).toBe(target.user.id);
  });

  it("what the administrator does while impersonating is audited with them as actor", async () => {
    const { admin, target, session } = await impersonation();
    const username = `seen_${Date.now().toString(36)}`;
    expect((await t.request("PUT", "/auth/me", { username }, bearer(session.accessToken))).status).toBe(200);
    const events = (await (await asAdmin(t, admin.accessToken)("GET", `/auth/admin/audit?userId=${target.user.id}&type=user.updated`)).json()) as {
      events: Array<{ actorId: string | null }>;
    };
    expect(events.events.map((event) => event.actorId)).toEqual([admin.user.id]);
  });
});

/** Whether the impersonation session's access token and refresh token are both refused (401). */
async function impersonationEnded(app: TestApp, session: Impersonated) {
  const me = await app.request("GET", "/auth/me", undefined, bearer(session.accessToken));
  const refreshed = await app.request("POST", "/auth/refresh", { refreshToken: session.refreshToken });
  return { me: me.status, refresh: refreshed.status };
}

const ENDED = { me: 401, refresh: 401 };

describe("an administrator's impersonation sessions end with their powers", () => {
  // Each first uses the impersonation token, so the session is in the cache: ending the row alone is not enough.
  it("banning the administrator ends the sessions they opened, cached or not", async () => {
    const { admin, session } = await impersonation();
    const boss = await registerAdmin(t);
    expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(200);
    expect((await asAdmin(t, boss.accessToken)("POST", `/auth/admin/users/${admin.user.id}/ban`, { reason: "rogue" })).status).toBe(200);
    expect(await impersonationEnded(t, session)).toEqual(ENDED);
  });

  it("demoting the administrator (PATCH or servauth users set-roles) ends them", async () => {
    const boss = await registerAdmin(t);
    const byPatch = await impersonation();
    const byCli = await impersonation();
    for (const { session } of [byPatch, byCli]) expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(200);
    expect((await asAdmin(t, boss.accessToken)("PATCH", `/auth/admin/users/${byPatch.admin.user.id}`, { roles: ["user"] })).status).toBe(200);
    await t.services.admin.users.setRoles(byCli.admin.user.id, [], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
    expect(await impersonationEnded(t, byPatch.session)).toEqual(ENDED);
    expect(await impersonationEnded(t, byCli.session)).toEqual(ENDED);
  });

  it("an administrator's own deletion ends them, at once or scheduled (ACCOUNT_DELETION_GRACE)", async () => {
    for (const grace of ["0", "86400"]) {
      const app = await createTestApp({ ACCOUNT_DELETION_GRACE: grace });
      try {
        await registerAdmin(app); // another administrator, so the deletion is not LAST_ADMIN
        const { admin, session } = await impersonation(app);
        expect((await app.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(200);
        const deleted = await app.request("DELETE", "/auth/me", { password: admin.account.password }, bearer(admin.accessToken));
        expect(deleted.status, grace).toBe(grace === "0" ? 204 : 202);
        expect(await impersonationEnded(app, session), grace).toEqual(ENDED);
      } finally {
        await app.close();
      }
    }
  });

  it("the deletion sweep ends the sessions of an administrator it deletes, though their deletion was scheduled behind the bus's back", async () => {
    const { admin, session } = await impersonation();
    expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(200);
    await t.services.database.db.update(users).set({ deletionScheduledAt: new Date(Date.now() - 1_000) }).where(eq(users.id, admin.user.id));
    expect(await t.services.accountDeletion.sweep()).toContain(admin.user.id);
    expect(await impersonationEnded(t, session)).toEqual(ENDED);
  });

  it("a session whose administrator lost the role without its revocation (a race) is refused on its next request and at refresh", async () => {
    const { admin, session } = await impersonation();
    expect((await t.request("GET", "/auth/me", undefined, bearer(session.accessToken))).status).toBe(200);
    // The demotion as a racing write would leave it: the role gone and published, the impersonation session still there.
    await t.services.database.db.update(users).set({ roles: ["user"] }).where(eq(users.id, admin.user.id));
    await t.services.bus.publish({ kind: "user", userId: admin.user.id });
    expect(await impersonationEnded(t, session)).toEqual(ENDED);
  });
});

describe("what the impersonated user sees of the administrator", () => {
  it("a refresh in the impersonation session names the administrator as actor, so the user's trail hides their address", async () => {
    const { admin, target, session } = await impersonation();
    expect((await t.request("POST", "/auth/refresh", { refreshToken: session.refreshToken }, ADMIN_CLIENT)).status).toBe(200);
    const own = (await (await t.request("GET", "/auth/audit", undefined, bearer(target.accessToken))).json()) as { events: Array<Record<string, unknown>> };
    expect(own.events.find((event) => event.type === "token.refreshed")).toMatchObject({ userAgent: null, ipAddress: null, sessionId: null });
    const all = (await (await asAdmin(t, admin.accessToken)("GET", `/auth/admin/audit?userId=${target.user.id}&type=token.refreshed`)).json()) as {
      events: Array<{ actorId: string | null; userAgent: string | null }>;
    };
    expect(all.events).toMatchObject([{ actorId: admin.user.id, userAgent: ADMIN_CLIENT["user-agent"] }]);
  });

  it("GET /auth/sessions shows the impersonation session without the administrator's address and user agent", async () => {
    const { target } = await impersonation();
    const listed = (await (await t.request("GET", "/auth/sessions", undefined, bearer(target.accessToken))).json()) as { sessions: Array<Record<string, unknown>> };
    expect(listed.sessions.find((session) => session.impersonated === true)).toMatchObject({ userAgent: null, ipAddress: null });
    expect(listed.sessions.find((session) => session.impersonated === false)?.ipAddress).not.toBeNull();
  });
});

describe("the reason", () => {
  it.each([
    ["a NUL", "ticket\u0000"],
    ["another control character", "ticket\u001b[2J"],
    ["a lone surrogate", "ticket\ud800"],
  ])("with %s is VALIDATION_FAILED, and no session is opened", async (_, reason) => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const response = await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/impersonate`, { reason });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("VALIDATION_FAILED");
    expect(await t.services.sessions.list(target.user.id)).toHaveLength(1);
  });

  it("an impersonation that cannot be audited fails, and its session is ended before anyone holds its tokens", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const failing = vi.spyOn(t.services.audit, "recordOrFail").mockRejectedValueOnce(new Error("audit store down"));
    try {
      const response = await impersonate(admin.accessToken, target.user.id);
      expect(response.status).toBe(500);
    } finally {
      failing.mockRestore();
    }
    expect((await t.services.sessions.list(target.user.id)).map((session) => session.impersonatorId)).toEqual([null]);
  });
});

describe("audit of admin actions", () => {
  it("GET /auth/admin/audit filters by user, actor, type and time, newest first, keyset paged", async () => {
    const admin = await registerAdmin(t);
    const target = await registerUser(t);
    const request = asAdmin(t, admin.accessToken);
    const since = new Date(Date.now() - 1_000).toISOString();
    await request("PATCH", `/auth/admin/users/${target.user.id}`, { username: `u_${Date.now().toString(36)}` });
    await request("POST", `/auth/admin/users/${target.user.id}/ban`, { reason: "r" });
    await request("POST", `/auth/admin/users/${target.user.id}/unban`);
    type Events = { events: Array<{ id: string; type: string; userId: string; actorId: string | null }>; nextCursor: string | null };
    const first = (await (await request("GET", `/auth/admin/audit?actorId=${admin.user.id}&limit=2&from=${encodeURIComponent(since)}`)).json()) as Events;
    expect(first.events.map((event) => event.type)).toEqual(["admin.user_unbanned", "admin.user_banned"]);
    expect(first.events.every((event) => event.userId === target.user.id && event.actorId === admin.user.id)).toBe(true);
    const second = (await (await request("GET", `/auth/admin/audit?actorId=${admin.user.id}&limit=2&cursor=${first.nextCursor}`)).json()) as Events;
    expect(second.events.map((event) => event.type)).toEqual(["admin.user_updated"]);
    expect(second.nextCursor).toBeNull();
    const byType = (await (await request("GET", `/auth/admin/audit?userId=${target.user.id}&type=admin.user_banned`)).json()) as Events;
    expect(byType.events).toHaveLength(1);
    // The target's own sign-up may be older than `since` on a loaded machine; the administrator's actions never are.
    const none = (await (await request("GET", `/auth/admin/audit?actorId=${admin.user.id}&to=${encodeURIComponent(since)}`)).json()) as Events;
    expect(none.events).toEqual([]);
  });

  it("refuses a type with a NUL and a time PostgreSQL cannot hold (year 0, an offset of 99 hours) with VALIDATION_FAILED", async () => {
    const admin = await registerAdmin(t);
    for (const query of ["type=%00", "type=admin.user_banned%00", "from=0000-01-01T00:00:00Z", `from=${encodeURIComponent("2026-01-01T00:00:00+99:00")}`, "to=10000-01-01T00:00:00Z"]) {
      const response = await asAdmin(t, admin.accessToken)("GET", `/auth/admin/audit?${query}`);
      expect(response.status, query).toBe(400);
      expect((await response.json()).code, query).toBe("VALIDATION_FAILED");
    }
  });

  it("with AUDIT_SHOW_ADMIN=true the user's own trail names the administrator", async () => {
    const app = await createTestApp({ AUDIT_SHOW_ADMIN: "true" });
    try {
      const admin = await registerAdmin(app);
      const target = await registerUser(app);
      await app.request("PATCH", `/auth/admin/users/${target.user.id}`, { emailVerified: true }, bearer(admin.accessToken));
      const own = (await (await app.request("GET", "/auth/audit", undefined, bearer(target.accessToken))).json()) as { events: Array<Record<string, unknown>> };
      expect(own.events.find((event) => event.type === "admin.user_updated")).toMatchObject({ actorId: admin.user.id, payload: { changed: ["emailVerified"] } });
      // ... and the impersonation session's client in GET /auth/sessions.
      await app.request("POST", `/auth/admin/users/${target.user.id}/impersonate`, { reason: "ticket" }, { ...bearer(admin.accessToken), ...ADMIN_CLIENT });
      const listed = (await (await app.request("GET", "/auth/sessions", undefined, bearer(target.accessToken))).json()) as { sessions: Array<Record<string, unknown>> };
      expect(listed.sessions.find((session) => session.impersonated === true)).toMatchObject({ userAgent: ADMIN_CLIENT["user-agent"] });
    } finally {
      await app.close();
    }
  });
});

describe("impersonation under MFA_POLICY=required", () => {
  let strict: TestApp;
  beforeAll(async () => {
    strict = await createTestApp({ MFA_POLICY: "required" });
  });
  afterAll(async () => {
    await strict.close();
  });

  /** An administrator on a session that proved TOTP (the policy holds them too), impersonating a user with or without a factor. */
  async function strictImpersonation(targetHasFactor: boolean) {
    const admin = await verifiedUser(strict);
    await strict.services.admin.users.setRoles(admin.user.id, ["admin"], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
    await enrolTotp(strict, admin.accessToken, Date.now());
    const target = targetHasFactor ? await verifiedUser(strict) : await registerUser(strict);
    if (targetHasFactor) await enrolTotp(strict, target.accessToken, Date.now());
    const response = await asAdmin(strict, admin.accessToken)("POST", `/auth/admin/users/${target.user.id}/impersonate`, { reason: "ticket 1234" });
    expect(response.status, await response.clone().text()).toBe(200);
    return { target, session: (await response.json()) as Impersonated };
  }

  it.each([
    ["has no second factor", false],
    ["has a second factor", true],
  ])("is not sent to enrol when the user %s: it sees what the user sees (REST and GraphQL)", async (_, targetHasFactor) => {
    const { session } = await strictImpersonation(targetHasFactor);
    const as = (method: string, path: string, body?: unknown) => strict.request(method, path, body, bearer(session.accessToken));
    for (const [method, path, body] of [
      ["GET", "/auth/sessions"],
      ["GET", "/auth/audit"],
      ["GET", "/auth/passkeys"],
      ["PUT", "/auth/me", { username: `seen_${Date.now().toString(36)}` }],
    ] as const) {
      const response = await as(method, path, body);
      expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBe(200);
    }
    const answer = await graphql(strict, "{ me { sessions { id } passkeys { id } } }", { token: session.accessToken });
    expect(codesOf(answer)).toEqual([]);
  });

  it("gains nothing else: no step-up, passkey, API key, second factor or recovery codes (REST and GraphQL)", async () => {
    const { target, session } = await strictImpersonation(true);
    const as = (method: string, path: string, body?: unknown) => strict.request(method, path, body, bearer(session.accessToken));
    const forbidden = { status: 403, code: "FORBIDDEN" };
    // Changing factors asks first for a session that proved the user's second factor, which re-authenticating
    // (FORBIDDEN above) can never give an impersonation session.
    const needsAal2 = { status: 401, code: "STEP_UP_REQUIRED" };
    for (const [method, path, body, refusal] of [
      ["POST", "/auth/reauthenticate", { password: target.account.password }, forbidden],
      ["POST", "/auth/api-keys", { name: "backdoor" }, forbidden],
      ["POST", "/auth/change-password", { currentPassword: target.account.password, newPassword: "taken over password" }, forbidden],
      ["DELETE", "/auth/sessions", undefined, forbidden],
      ["POST", "/auth/passkeys/register/options", {}, needsAal2],
      ["POST", "/auth/mfa/totp/setup", undefined, needsAal2],
      ["DELETE", "/auth/mfa/totp", undefined, needsAal2],
      ["POST", "/auth/mfa/email/enable", undefined, needsAal2],
      ["POST", "/auth/mfa/recovery-codes", undefined, needsAal2],
    ] as const) {
      expect(await problemOf(await as(method, path, body)), `${method} ${path}`).toEqual(refusal);
    }
    expect(await strict.services.apiKeys.list(target.user.id)).toEqual([]);
    const mutation = `mutation { changePassword(currentPassword: "${target.account.password}", newPassword: "taken over password") }`;
    expect(codesOf(await graphql(strict, mutation, { token: session.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(codesOf(await graphql(strict, "mutation { revokeOtherSessions }", { token: session.accessToken }))).toEqual(["FORBIDDEN"]);
    // The user's factor is untouched and their own session still proves it.
    expect(await (await strict.request("GET", "/auth/mfa", undefined, bearer(target.accessToken))).json()).toMatchObject({ methods: [{ type: "totp" }] });
  });
});
