import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

const CLI = { ipAddress: null, userAgent: null, requestId: null, sessionId: null };

/** Takes the admin role from every administrator of `app` but these. */
async function demoteAllBut(app: TestApp, keep: string[]) {
  const admins = await app.services.admin.directory.search({ role: "admin", limit: 100 });
  for (const user of admins.users.filter((user) => !keep.includes(user.id))) await app.services.admin.users.setRoles(user.id, [], { adminId: null, audit: CLI });
}

/** Issue 17: searching, creating, changing and deleting users as an administrator; roles in tokens; LAST_ADMIN. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

type AdminUser = { id: string; email: string; username: string | null; roles: string[]; status: string; emailVerified: boolean; createdAt: string };
type Page = { users: AdminUser[]; nextCursor: string | null };

async function page(token: string, query: string): Promise<Page> {
  const response = await asAdmin(t, token)("GET", `/auth/admin/users?${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
}

describe("GET /auth/admin/users", () => {
  it("pages with a keyset cursor that neither repeats nor skips users when others are inserted meanwhile", async () => {
    const { accessToken } = await registerAdmin(t);
    const prefix = `pg${Date.now().toString(36)}`;
    for (let i = 0; i < 7; i++) await registerUser(t, { email: `${prefix}-${i}@example.com` });
    const seen: string[] = [];
    // Each page as it came, for the failure message: the order rests on created_at, which a clock step would break.
    const pages: string[][] = [];
    let cursor: string | null = null;
    let inserted = 0;
    do {
      const current: Page = await page(accessToken, `q=${prefix}&limit=2${cursor === null ? "" : `&cursor=${cursor}`}`);
      seen.push(...current.users.map((user) => user.email));
      pages.push(current.users.map((user) => `${user.email} ${user.createdAt} ${user.id}`));
      // Users made between pages: the ones already listed keep their place, the new ones come at the end.
      if (inserted < 2) await registerUser(t, { email: `${prefix}-new${inserted++}@example.com` });
      cursor = current.nextCursor;
    } while (cursor !== null);
    const registered = Array.from({ length: 7 }, (_, i) => `${prefix}-${i}@example.com`);
    const added = [`${prefix}-new0@example.com`, `${prefix}-new1@example.com`];
    // Every user once. Users registered within the same millisecond (the embedded database's clock) are ordered by
    // id, not by registration, so only the set of those is fixed; the ones made between pages come last.
    expect([...seen].sort(), JSON.stringify(pages)).toEqual([...registered, ...added].sort());
    expect(seen.slice(-2), JSON.stringify(pages)).toEqual(added);
  });

  it("q is a case-insensitive prefix of the email or the username; role and status filter", async () => {
    const { accessToken } = await registerAdmin(t);
    const tag = `fx${Date.now().toString(36)}`;
    const byEmail = await registerUser(t, { email: `${tag}mail@example.com` });
    const byName = await registerUser(t, { username: `${tag}_Name` });
    await registerUser(t, { email: `x${tag}@example.com` });
    const found = await page(accessToken, `q=${tag.toUpperCase()}`);
    expect(found.users.map((user) => user.id).sort()).toEqual([byEmail.user.id, byName.user.id].sort());
    // LIKE's wildcards match themselves only.
    expect((await page(accessToken, "q=%25")).users).toEqual([]);

    const admins = await page(accessToken, "role=admin&limit=100");
    expect(admins.users.every((user) => user.roles.includes("admin"))).toBe(true);
    expect(admins.users.map((user) => user.id)).not.toContain(byEmail.user.id);
    const unverified = await page(accessToken, `q=${tag}&status=unverified`);
    expect(unverified.users).toHaveLength(2);
    expect((await page(accessToken, `q=${tag}&status=active`)).users).toEqual([]);
  });

  it("refuses a limit above 100, a bad role name, a q with a NUL and a cursor it did not make (one naming no real moment too)", async () => {
    const { accessToken } = await registerAdmin(t);
    const request = asAdmin(t, accessToken);
    const cursorAt = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, "00000000-0000-4000-8000-000000000000"])).toString("base64url");
    const impossible = ["2026-99-99 99:99:99+00", "2026-02-30 00:00:00+00", "0000-01-01 00:00:00+00", "2026-01-01 00:00:00+99"].map((at) => `cursor=${cursorAt(at)}`);
    for (const query of ["limit=101", "role=Admin", "status=gone", "cursor=bm90LWEtY3Vyc29y", "q=%00", "q=a%00b", ...impossible]) {
      const response = await request("GET", `/auth/admin/users?${query}`);
      expect(response.status, query).toBe(400);
      expect((await response.json()).code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("create, get, patch, delete", () => {
  it("creates a user with a password, roles and a vouched address: they sign in at once, no verification mail", async () => {
    const { accessToken } = await registerAdmin(t);
    const account = newAccount();
    const response = await asAdmin(t, accessToken)("POST", "/auth/admin/users", { ...account, roles: ["support", "user"], emailVerified: true });
    expect(response.status).toBe(201);
    const { user } = (await response.json()) as { user: AdminUser };
    expect(user).toMatchObject({ email: account.email, roles: ["support", "user"], status: "active", emailVerified: true });
    expect((await t.request("POST", "/auth/login", account)).status).toBe(200);
    await t.services.mail.drain();
    expect(t.sentMail.filter((mail) => mail.to === account.email)).toEqual([]);
  });

  it("creates a user without a password and mails an invitation whose link sets the first password", async () => {
    const { accessToken } = await registerAdmin(t);
    const { email } = newAccount();
    const response = await asAdmin(t, accessToken)("POST", "/auth/admin/users", { email });
    expect(response.status).toBe(201);
    await t.services.mail.drain();
    const invitation = t.sentMail.find((mail) => mail.to === email && mail.subject === "You have been invited");
    const token = /token=([A-Za-z0-9_-]+)/.exec(invitation?.text ?? "")?.[1];
    expect(token).toBeDefined();
    const password = "my chosen first password";
    const reset = await t.request("POST", "/auth/reset-password", { token, password });
    expect(reset.status, await reset.clone().text()).toBe(204);
    expect((await t.request("POST", "/auth/login", { email, password })).status).toBe(200);
  });

  it("answers EMAIL_TAKEN for a registered address and 404 for an unknown or malformed id", async () => {
    const { accessToken, account } = await registerAdmin(t);
    const request = asAdmin(t, accessToken);
    expect((await (await request("POST", "/auth/admin/users", { email: account.email })).json()).code).toBe("EMAIL_TAKEN");
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      const response = await request("GET", `/auth/admin/users/${id}`);
      expect(response.status).toBe(404);
      expect((await response.json()).code).toBe("NOT_FOUND");
    }
  });

  it("GET shows roles, status, sessions with their assurance, and linked accounts besides the password", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    const response = await asAdmin(t, accessToken)("GET", `/auth/admin/users/${target.user.id}`);
    const { user } = (await response.json()) as { user: Record<string, unknown> & { sessions: Array<Record<string, unknown>> } };
    expect(user).toMatchObject({ id: target.user.id, roles: ["user"], status: "unverified", ban: null, hasPassword: true, linkedAccounts: [] });
    expect(user.sessions).toHaveLength(1);
    expect(user.sessions[0]).toMatchObject({ amr: ["pwd"], aal: 1, impersonated: false });
  });

  it("a role given by PATCH is in the next access token (RFC 9068 roles); a demotion acts on the very next request", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    const request = asAdmin(t, accessToken);
    const promoted = await request("PATCH", `/auth/admin/users/${target.user.id}`, { roles: ["admin", "editor"] });
    expect(((await promoted.json()) as { user: AdminUser }).user.roles).toEqual(["admin", "editor", "user"]);
    // The target's existing token works as admin at once: the check reads the cached user, not the token.
    expect((await t.request("GET", "/auth/admin/users", undefined, bearer(target.accessToken))).status).toBe(200);
    const refreshed = (await (await t.request("POST", "/auth/refresh", { refreshToken: target.refreshToken })).json()) as { accessToken: string };
    const jwks = createLocalJWKSet((await (await t.request("GET", "/.well-known/jwks.json")).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(refreshed.accessToken, jwks, { issuer: TEST_ORIGIN, audience: "servauth" });
    expect(payload.roles).toEqual(["admin", "editor", "user"]);

    await request("PATCH", `/auth/admin/users/${target.user.id}`, { roles: ["editor"] });
    // The refreshed token still says admin; the server does not believe it.
    const demoted = await t.request("GET", "/auth/admin/users", undefined, bearer(refreshed.accessToken));
    expect(demoted.status).toBe(403);
  });

  it("PATCH changes email, username and emailVerified; a changed email is unverified; a taken username is USERNAME_TAKEN", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    const other = await registerUser(t, { username: `taken_${Date.now().toString(36)}` });
    const request = asAdmin(t, accessToken);
    const { email } = newAccount();
    const changed = await request("PATCH", `/auth/admin/users/${target.user.id}`, { email, username: "new_name_1" });
    expect(((await changed.json()) as { user: AdminUser }).user).toMatchObject({ email, username: "new_name_1", emailVerified: false });
    await t.services.mail.drain();
    expect(t.sentMail.some((mail) => mail.to === target.account.email && mail.text.includes(email))).toBe(true);
    const verified = await request("PATCH", `/auth/admin/users/${target.user.id}`, { emailVerified: true });
    expect(((await verified.json()) as { user: AdminUser }).user.status).toBe("active");
    const taken = await request("PATCH", `/auth/admin/users/${target.user.id}`, { username: other.account.username?.toUpperCase() ?? "" });
    expect((await taken.json()).code).toBe("USERNAME_TAKEN");
    expect((await request("PATCH", `/auth/admin/users/${target.user.id}`, {})).status).toBe(400);
  });

  it("a changed email ends the user's sessions: whoever reads the new address may sign in with it", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(200);
    expect((await asAdmin(t, accessToken)("PATCH", `/auth/admin/users/${target.user.id}`, { email: newAccount().email })).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken: target.refreshToken })).status).toBe(401);
  });

  it("a new email cannot be set verified: its owner proves it", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    const response = await asAdmin(t, accessToken)("PATCH", `/auth/admin/users/${target.user.id}`, { email: newAccount().email, emailVerified: true });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("VALIDATION_FAILED");
    expect((await asAdmin(t, accessToken)("GET", `/auth/admin/users/${target.user.id}`)).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(200);
  });

  it("an administrator's email is not changed through the admin API (CANNOT_CHANGE_ADMIN_EMAIL), so no administrator signs in as another", async () => {
    const attacker = await registerAdmin(t);
    const victim = await registerAdmin(t);
    const user = await registerUser(t);
    const request = asAdmin(t, attacker.accessToken);
    const attackersMailbox = newAccount().email;
    for (const [id, patch] of [
      [victim.user.id, { email: attackersMailbox }],
      [user.user.id, { email: attackersMailbox, roles: ["admin"] }],
    ] as const) {
      const response = await request("PATCH", `/auth/admin/users/${id}`, patch);
      expect(response.status).toBe(403);
      expect((await response.json()).code).toBe("CANNOT_CHANGE_ADMIN_EMAIL");
    }
    const unchanged = (await (await request("GET", `/auth/admin/users/${victim.user.id}`)).json()) as { user: AdminUser };
    expect(unchanged.user.email).toBe(victim.account.email);
    expect((await request("GET", `/auth/admin/users/${user.user.id}`)).status).toBe(200);
    expect(((await (await request("GET", `/auth/admin/users/${user.user.id}`)).json()) as { user: AdminUser }).user.roles).toEqual(["user"]);
  });

  it("DELETE removes the user at once: their token stops working", async () => {
    const { accessToken } = await registerAdmin(t);
    const target = await registerUser(t);
    expect((await asAdmin(t, accessToken)("DELETE", `/auth/admin/users/${target.user.id}`)).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(401);
    expect((await asAdmin(t, accessToken)("GET", `/auth/admin/users/${target.user.id}`)).status).toBe(404);
  });
});

describe("LAST_ADMIN", () => {
  it("two administrators demoting each other at once: one wins, the other gets LAST_ADMIN, one admin is left", async () => {
    const app = await createTestApp();
    try {
      for (let round = 0; round < 5; round++) {
        const ann = await registerAdmin(app);
        const bob = await registerAdmin(app);
        await demoteAllBut(app, [ann.user.id, bob.user.id]);
        // Straight to the service, past the HTTP gate (which would already see the first demotion): the database
        // guard alone decides, with both transactions in flight at once.
        const users = app.services.admin.users;
        const outcomes = await Promise.allSettled([
          users.update(bob.user.id, { roles: [] }, { adminId: ann.user.id, audit: CLI }),
          users.update(ann.user.id, { roles: [] }, { adminId: bob.user.id, audit: CLI }),
        ]);
        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
        const refusal = outcomes.find((outcome) => outcome.status === "rejected");
        expect((refusal as PromiseRejectedResult).reason).toMatchObject({ code: "LAST_ADMIN" });
        expect((await app.services.admin.directory.search({ role: "admin", limit: 100 })).users).toHaveLength(1);
      }
    } finally {
      await app.close();
    }
  });

  it("over HTTP the loser of the race is refused too (FORBIDDEN once demoted, or LAST_ADMIN), never both demoted", async () => {
    const app = await createTestApp();
    try {
      const ann = await registerAdmin(app);
      const bob = await registerAdmin(app);
      await demoteAllBut(app, [ann.user.id, bob.user.id]);
      const answers = await Promise.all([
        app.request("PATCH", `/auth/admin/users/${bob.user.id}`, { roles: [] }, bearer(ann.accessToken)),
        app.request("PATCH", `/auth/admin/users/${ann.user.id}`, { roles: [] }, bearer(bob.accessToken)),
      ]);
      const codes = await Promise.all(answers.map(async (answer) => (answer.status === 200 ? "OK" : ((await answer.json()) as { code: string }).code)));
      expect(codes.filter((code) => code === "OK")).toHaveLength(1);
      expect(codes.filter((code) => code !== "OK")[0]).toMatch(/^(FORBIDDEN|LAST_ADMIN)$/);
      expect((await app.services.admin.directory.search({ role: "admin", limit: 100 })).users).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it("the last administrator cannot be banned, deleted or demoted, not even by themselves", async () => {
    const app = await createTestApp();
    try {
      const only = await registerAdmin(app);
      const request = asAdmin(app, only.accessToken);
      const path = `/auth/admin/users/${only.user.id}`;
      for (const [method, suffix, body] of [
        ["PATCH", "", { roles: ["user"] }],
        ["DELETE", "", undefined],
        ["POST", "/ban", { reason: "test" }],
      ] as const) {
        const response = await request(method, `${path}${suffix}`, body);
        expect(response.status, `${method} ${suffix}`).toBe(409);
        expect((await response.json()).code).toBe("LAST_ADMIN");
      }
      // Nor by deleting their own account.
      const own = await app.request("DELETE", "/auth/me", { password: only.account.password }, bearer(only.accessToken));
      expect((await own.json()).code).toBe("LAST_ADMIN");
      // With a second administrator the same demotion goes through.
      await registerAdmin(app);
      expect((await request("PATCH", path, { roles: ["user"] })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
