import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { codesOf, graphql, restCode } from "../support/graphql.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** Issue 21: the admin operations over GraphQL, against their REST twins under /auth/admin. */
const MAX_AGE = 300;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

let t: TestApp;
let adminToken: string;
beforeAll(async () => {
  t = await createTestApp({ STEP_UP_MAX_AGE: String(MAX_AGE) }, { now: clock });
  adminToken = (await registerAdmin(t)).accessToken;
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

describe("refusals", () => {
  it("a user without the admin role is FORBIDDEN and no session is UNAUTHENTICATED, on every admin field", async () => {
    const { accessToken, user } = await registerUser(t);
    expect(await restCode(await t.request("GET", "/auth/admin/users", undefined, bearer(accessToken)))).toBe("FORBIDDEN");
    for (const operation of ["{ users { nodes { id } } }", `{ user(id: "${user.id}") { id } }`, `mutation { unbanUser(id: "${user.id}") { id } }`]) {
      expect(codesOf(await graphql(t, operation, { token: accessToken })), operation).toEqual(["FORBIDDEN"]);
      expect(codesOf(await graphql(t, operation)), operation).toEqual(["UNAUTHENTICATED"]);
    }
  });

  it("a change on a stale session is STEP_UP_REQUIRED, checked before its arguments, as on REST", async () => {
    const { user } = await registerUser(t);
    offsetMs = (MAX_AGE + 1) * 1000;
    expect(await restCode(await asAdmin(t, adminToken)("POST", `/auth/admin/users/${user.id}/ban`, {}))).toBe("STEP_UP_REQUIRED");
    for (const operation of [`mutation { banUser(id: "${user.id}") { id } }`, `mutation { setUserRoles(id: "${user.id}", roles: ["x"]) { id } }`, `mutation { revokeUserSessions(id: "${user.id}") }`]) {
      expect(codesOf(await graphql(t, operation, { token: adminToken })), operation).toEqual(["STEP_UP_REQUIRED"]);
    }
  });

  it("unknown users are NOT_FOUND and bad arguments VALIDATION_FAILED, as on REST", async () => {
    const admin = asAdmin(t, adminToken);
    const { user } = await registerUser(t);
    expect(await restCode(await admin("GET", "/auth/admin/users/not-a-uuid"))).toBe("NOT_FOUND");
    expect(codesOf(await graphql(t, '{ user(id: "not-a-uuid") { id } }', { token: adminToken }))).toEqual(["NOT_FOUND"]);
    // Found by graphql-fuzz.test.ts: a malformed id reached PostgreSQL's uuid parser in the last-admin guard (a 500 on both APIs).
    expect(await restCode(await admin("POST", "/auth/admin/users/1970-01-01T00:00:00.000Z/ban", { reason: "x" }))).toBe("NOT_FOUND");
    expect(codesOf(await graphql(t, 'mutation { banUser(id: "1970-01-01T00:00:00.000Z", reason: "x") { id } }', { token: adminToken }))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await graphql(t, 'mutation { setUserRoles(id: "0", roles: ["user"]) { id } }', { token: adminToken }))).toEqual(["NOT_FOUND"]);
    expect(await restCode(await admin("POST", `/auth/admin/users/${user.id}/ban`, { reason: "x", expiresAt: "yesterday" }))).toBe("VALIDATION_FAILED");
    const badBan = await graphql(t, `mutation { banUser(id: "${user.id}", reason: "x", expiresAt: "yesterday") { id } }`, { token: adminToken });
    expect(codesOf(badBan)).toEqual(["VALIDATION_FAILED"]);
    expect(badBan.errors?.[0]?.extensions.errors?.map((error) => error.path)).toEqual(["expiresAt"]);
    expect(await restCode(await admin("GET", "/auth/admin/users?status=gone"))).toBe("VALIDATION_FAILED");
    expect(codesOf(await graphql(t, '{ users(status: "gone") { nodes { id } } }', { token: adminToken }))).toEqual(["VALIDATION_FAILED"]);
    expect(codesOf(await graphql(t, '{ users(after: "forged") { nodes { id } } }', { token: adminToken }))).toEqual(["VALIDATION_FAILED"]);
    expect(await restCode(await admin("PATCH", `/auth/admin/users/${user.id}`, { roles: ["Not A Role"] }))).toBe("VALIDATION_FAILED");
    expect(codesOf(await graphql(t, `mutation { setUserRoles(id: "${user.id}", roles: ["Not A Role"]) { id } }`, { token: adminToken }))).toEqual(["VALIDATION_FAILED"]);
  });

  it("past RATE_LIMIT_ADMIN_SESSION an admin field is RATE_LIMITED and says when to retry (a 200 has no Retry-After header)", async () => {
    const limited = await createTestApp({ RATE_LIMIT_ADMIN_SESSION: "2/60" });
    try {
      const { accessToken } = await registerAdmin(limited);
      const query = "{ users { nodes { id } } }";
      for (let i = 0; i < 2; i += 1) expect((await graphql(limited, query, { token: accessToken })).errors).toBeUndefined();
      const refused = await graphql(limited, query, { token: accessToken });
      expect(codesOf(refused)).toEqual(["RATE_LIMITED"]);
      const retryAfterSeconds = refused.errors?.[0]?.extensions.retryAfterSeconds;
      expect(retryAfterSeconds).toBeGreaterThan(0);
      expect(retryAfterSeconds).toBeLessThanOrEqual(60);
    } finally {
      await limited.close();
    }
  });
});

describe("reads and changes", () => {
  it("users and user(id) show what GET /auth/admin/users and /auth/admin/users/{id} show", async () => {
    const { user } = await registerUser(t, { username: `listed${Date.now()}` });
    const admin = asAdmin(t, adminToken);
    const rest = (await (await admin("GET", `/auth/admin/users?q=${user.username}`)).json()) as { users: Array<{ id: string; status: string; roles: string[] }> };
    const listed = await graphql<{ users: { nodes: Array<{ id: string; status: string; roles: string[] }> } }>(t, "query($q: String) { users(query: $q) { nodes { id status roles } } }", {
      token: adminToken,
      variables: { q: user.username },
    });
    expect(listed.data?.users.nodes).toEqual(rest.users.map(({ id, status, roles }) => ({ id, status, roles })));
    const detail = (await (await admin("GET", `/auth/admin/users/${user.id}`)).json()) as { user: { sessions: Array<{ id: string }>; hasPassword: boolean; recoveryCodesLeft: number } };
    const one = await graphql<{ user: { sessions: Array<{ id: string }>; hasPassword: boolean; recoveryCodesLeft: number } }>(t, `{ user(id: "${user.id}") { sessions { id } hasPassword recoveryCodesLeft } }`, { token: adminToken });
    expect(one.data?.user).toEqual({ sessions: detail.user.sessions.map(({ id }) => ({ id })), hasPassword: detail.user.hasPassword, recoveryCodesLeft: detail.user.recoveryCodesLeft });
  });

  it("banUser, unbanUser, setUserRoles and revokeUserSessions change what REST then reads", async () => {
    const target = await registerUser(t);
    const admin = asAdmin(t, adminToken);
    const banned = await graphql<{ banUser: { status: string; ban: { reason: string } } }>(t, `mutation { banUser(id: "${target.user.id}", reason: "spam") { status ban { reason } } }`, { token: adminToken });
    expect(banned.data?.banUser).toEqual({ status: "banned", ban: { reason: "spam" } });
    expect((await t.request("GET", "/auth/me", undefined, bearer(target.accessToken))).status).toBe(401);
    expect((await graphql<{ unbanUser: { status: string } }>(t, `mutation { unbanUser(id: "${target.user.id}") { status } }`, { token: adminToken })).data?.unbanUser.status).toBe("unverified");
    const roles = await graphql<{ setUserRoles: { roles: string[] } }>(t, `mutation { setUserRoles(id: "${target.user.id}", roles: ["support"]) { roles } }`, { token: adminToken });
    expect(roles.data?.setUserRoles.roles.sort()).toEqual(["support", "user"]);
    const after = (await (await admin("GET", `/auth/admin/users/${target.user.id}`)).json()) as { user: { roles: string[] } };
    expect(after.user.roles.sort()).toEqual(["support", "user"]);
    const session = await t.request("POST", "/auth/login", { email: target.account.email, password: target.account.password });
    const token = ((await session.json()) as { accessToken: string }).accessToken;
    expect((await graphql(t, `mutation { revokeUserSessions(id: "${target.user.id}") }`, { token: adminToken })).data).toEqual({ revokeUserSessions: 1 });
    expect((await t.request("GET", "/auth/me", undefined, bearer(token))).status).toBe(401);
  });

  it("a mutation operation changes one thing: aliased or fragment-spread admin changes are refused whole (GRAPHQL_MUTATION_LIMIT)", async () => {
    const victims = await Promise.all([1, 2].map(() => registerUser(t)));
    const bans = victims.map((victim, i) => `b${i}: banUser(id: "${victim.user.id}", reason: "x") { status }`).join(" ");
    const aliased = await graphql(t, `mutation { ${bans} }`, { token: adminToken });
    expect(codesOf(aliased)).toEqual(["GRAPHQL_MUTATION_LIMIT"]);
    expect(aliased.data).toBeUndefined();
    const spread = await graphql(t, `mutation { ...Bans } fragment Bans on Mutation { ${bans} }`, { token: adminToken });
    expect(codesOf(spread)).toEqual(["GRAPHQL_MUTATION_LIMIT"]);
    for (const victim of victims) expect((await t.request("GET", "/auth/me", undefined, bearer(victim.accessToken))).status).toBe(200);
    // One change, aliased, beside __typename (which changes nothing) is fine.
    const one = await graphql(t, `mutation { __typename b0: banUser(id: "${victims[0]!.user.id}", reason: "x") { status } }`, { token: adminToken });
    expect(one.data).toEqual({ __typename: "Mutation", b0: { status: "banned" } });
  });

  it("the last administrator cannot drop the role: LAST_ADMIN, as PATCH /auth/admin/users/{id}", async () => {
    const fresh = await createTestApp();
    try {
      const { accessToken, user } = await registerAdmin(fresh);
      expect(await restCode(await fresh.request("PATCH", `/auth/admin/users/${user.id}`, { roles: ["user"] }, bearer(accessToken)))).toBe("LAST_ADMIN");
      expect(codesOf(await graphql(fresh, `mutation { setUserRoles(id: "${user.id}", roles: ["user"]) { id } }`, { token: accessToken }))).toEqual(["LAST_ADMIN"]);
    } finally {
      await fresh.close();
    }
  });
});

describe.skipIf(process.env.SERVAUTH_TEST_DB !== "pglite")("the database work of a listing with nested sessions", () => {
  /** Statements PGlite runs while `send` is answered. */
  async function statements(send: () => Promise<unknown>): Promise<number> {
    const spies = [vi.spyOn(PGlite.prototype, "query"), vi.spyOn(PGlite.prototype, "exec"), vi.spyOn(PGlite.prototype, "transaction")];
    try {
      await send();
      return spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  }

  it("is the same for a page of 2 users as for a page of 12: one sessions query for the page, not one per user", async () => {
    for (let i = 0; i < 12; i += 1) await registerUser(t, { username: `paged${i}x${Date.now()}` });
    const page = (first: number) => graphql<{ users: { nodes: Array<{ sessions: unknown[] }> } }>(t, `{ users(query: "paged", first: ${first}) { nodes { id sessions { id amr } } } }`, { token: adminToken });
    const small = await page(2);
    expect(small.data?.users.nodes).toHaveLength(2);
    expect((await page(12)).data?.users.nodes.every((user) => user.sessions.length === 1)).toBe(true);
    const [two, twelve] = [await statements(() => page(2)), await statements(() => page(12))];
    expect(twelve).toBe(two);
    expect(twelve).toBeLessThanOrEqual(4);
  });
});
