import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { codesOf, graphql, restCode } from "../support/graphql.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * Issue 21: each GraphQL operation answers what its REST twin answers: the same data, and the same stable code
 * for every refusal (401, 403, STEP_UP_REQUIRED, validation). The services' clock moves past STEP_UP_MAX_AGE.
 */
const MAX_AGE = 300;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const ageSessions = () => {
  offsetMs += (MAX_AGE + 1) * 1000;
};

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ STEP_UP_MAX_AGE: String(MAX_AGE) }, { now: clock });
});
afterAll(async () => {
  await t.close();
});
beforeEach(() => {
  offsetMs = 0;
});

const ME = "{ me { id email username emailVerified roles session { id aal amr } sessions { id current impersonated } secondFactors { recoveryCodesLeft policy } linkedAccounts { id } hasPassword } }";

async function signIn(email: string, password: string) {
  const response = await t.request("POST", "/auth/login", { email, password });
  return ((await response.json()) as { accessToken: string }).accessToken;
}

describe("me", () => {
  it("is GET /auth/me, /auth/sessions, /auth/mfa and /auth/me/accounts in one", async () => {
    const { accessToken, account } = await registerUser(t);
    await signIn(account.email, account.password);
    const rest = {
      me: (await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()) as { user: { id: string; email: string }; session: { id: string; aal: number; amr: string[] } },
      sessions: (await (await t.request("GET", "/auth/sessions", undefined, bearer(accessToken))).json()) as { sessions: Array<{ id: string; current: boolean }> },
      mfa: (await (await t.request("GET", "/auth/mfa", undefined, bearer(accessToken))).json()) as { recoveryCodesLeft: number; policy: string },
      accounts: (await (await t.request("GET", "/auth/me/accounts", undefined, bearer(accessToken))).json()) as { accounts: unknown[]; password: boolean },
    };
    const answer = await graphql<{ me: Record<string, unknown> }>(t, ME, { token: accessToken });
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.me).toEqual({
      id: rest.me.user.id,
      email: rest.me.user.email,
      username: null,
      emailVerified: false,
      roles: ["user"],
      session: { id: rest.me.session.id, aal: rest.me.session.aal, amr: rest.me.session.amr },
      sessions: rest.sessions.sessions.map((session) => ({ id: session.id, current: session.current, impersonated: false })),
      secondFactors: { recoveryCodesLeft: rest.mfa.recoveryCodesLeft, policy: rest.mfa.policy },
      linkedAccounts: rest.accounts.accounts,
      hasPassword: rest.accounts.password,
    });
    expect(answer.data?.me.sessions).toHaveLength(2);
  });

  it("without credentials is UNAUTHENTICATED, and with a bad token a 401 before anything runs, as on REST", async () => {
    expect(await restCode(await t.request("GET", "/auth/me"))).toBe("UNAUTHENTICATED");
    const anonymous = await graphql(t, "{ me { id } }");
    expect(codesOf(anonymous)).toEqual(["UNAUTHENTICATED"]);
    expect(anonymous.data).toBeNull();

    const badToken = await t.request("GET", "/auth/me", undefined, bearer("not-a-token"));
    expect(badToken.status).toBe(401);
    const answer = await graphql(t, "{ me { id } }", { token: "not-a-token" });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe(badToken.headers.get("www-authenticate"));
    expect(codesOf(answer)).toEqual([await restCode(badToken)]);
  });
});

describe("auditEvents", () => {
  it("pages the caller's own events as GET /auth/audit does", async () => {
    const { accessToken, account } = await registerUser(t);
    for (let i = 0; i < 3; i += 1) await signIn(account.email, account.password);
    const rest = (await (await t.request("GET", "/auth/audit?limit=2", undefined, bearer(accessToken))).json()) as { events: Array<{ id: string; type: string }>; nextCursor: string };
    const query = "query($after: String) { auditEvents(first: 2, after: $after) { nodes { id type payload } pageInfo { hasNextPage endCursor } } }";
    const first = await graphql<{ auditEvents: { nodes: Array<{ id: string; type: string }>; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(t, query, { token: accessToken });
    expect(first.data?.auditEvents.nodes.map(({ id, type }) => ({ id, type }))).toEqual(rest.events.map(({ id, type }) => ({ id, type })));
    expect(first.data?.auditEvents.pageInfo).toEqual({ hasNextPage: true, endCursor: rest.nextCursor });
    const restNext = (await (await t.request("GET", `/auth/audit?limit=2&after=${rest.nextCursor}`, undefined, bearer(accessToken))).json()) as { events: Array<{ id: string }> };
    const next = await graphql<{ auditEvents: { nodes: Array<{ id: string }> } }>(t, query, { token: accessToken, variables: { after: rest.nextCursor } });
    expect(next.data?.auditEvents.nodes.map((event) => event.id)).toEqual(restNext.events.map((event) => event.id));
  });

  it("refuses a bad page size or cursor with VALIDATION_FAILED naming the argument", async () => {
    const { accessToken } = await registerUser(t);
    expect(await restCode(await t.request("GET", "/auth/audit?limit=0", undefined, bearer(accessToken)))).toBe("VALIDATION_FAILED");
    const zero = await graphql(t, "{ auditEvents(first: 0) { nodes { id } } }", { token: accessToken });
    expect(codesOf(zero)).toEqual(["VALIDATION_FAILED"]);
    expect(zero.errors?.[0]?.extensions.errors).toEqual([{ path: "first", message: expect.any(String) }]);
    expect(await restCode(await t.request("GET", "/auth/audit?after=nope", undefined, bearer(accessToken)))).toBe("VALIDATION_FAILED");
    expect(codesOf(await graphql(t, '{ auditEvents(after: "nope") { nodes { id } } }', { token: accessToken }))).toEqual(["VALIDATION_FAILED"]);
  });
});

describe("updateMe and changePassword", () => {
  it("change the username as PUT /auth/me does, and refuse the same mistakes with the same codes", async () => {
    const { accessToken } = await registerUser(t);
    const other = await registerUser(t, { username: `taken${Date.now()}` });
    const changed = await graphql<{ updateMe: { username: string } }>(t, 'mutation { updateMe(username: "Graph_Ql1") { username } }', { token: accessToken });
    expect(changed.data?.updateMe.username).toBe("Graph_Ql1");
    const me = (await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()) as { user: { username: string } };
    expect(me.user.username).toBe("Graph_Ql1");

    const cases: Array<[unknown, string]> = [
      [{ username: other.user.username ?? `taken` }, "USERNAME_TAKEN"],
      [{ email: "not-an-email" }, "VALIDATION_FAILED"],
      [{ email: "new@example.com" }, "VALIDATION_FAILED"], // an email change without currentPassword
      [{ email: "new@example.com", currentPassword: "wrong password here" }, "INVALID_CREDENTIALS"],
      [{}, "VALIDATION_FAILED"],
    ];
    for (const [body, code] of cases) {
      expect(await restCode(await t.request("PUT", "/auth/me", body, bearer(accessToken)))).toBe(code);
      const answer = await graphql(t, "mutation($username: String, $email: String, $currentPassword: String) { updateMe(username: $username, email: $email, currentPassword: $currentPassword) { id } }", {
        token: accessToken,
        variables: body as Record<string, unknown>,
      });
      expect(codesOf(answer), JSON.stringify(body)).toEqual([code]);
    }
  });

  it("changePassword refuses a wrong current password and a short one, and changes it", async () => {
    const { accessToken, account } = await registerUser(t);
    const mutation = "mutation($current: String, $next: String) { changePassword(currentPassword: $current, newPassword: $next) }";
    const rest = (current: string, next: string) => t.request("POST", "/auth/change-password", { currentPassword: current, newPassword: next }, bearer(accessToken));
    expect(await restCode(await rest("wrong password entirely", "a brand new password 1"))).toBe("INVALID_CREDENTIALS");
    expect(codesOf(await graphql(t, mutation, { token: accessToken, variables: { current: "wrong password entirely", next: "a brand new password 1" } }))).toEqual(["INVALID_CREDENTIALS"]);
    expect(await restCode(await rest(account.password, "short"))).toBe("VALIDATION_FAILED");
    expect(codesOf(await graphql(t, mutation, { token: accessToken, variables: { current: account.password, next: "short" } }))).toEqual(["VALIDATION_FAILED"]);
    const changed = await graphql<{ changePassword: boolean }>(t, mutation, { token: accessToken, variables: { current: account.password, next: "a brand new password 1" } });
    expect(changed.data?.changePassword).toBe(true);
    expect((await t.request("POST", "/auth/login", { email: account.email, password: "a brand new password 1" })).status).toBe(200);
  });
});

describe("sessions and logout", () => {
  it("revokeSession ends one of the caller's sessions and is NOT_FOUND for anything else, as DELETE /auth/sessions/{id}", async () => {
    const { accessToken, account } = await registerUser(t);
    const stranger = await registerUser(t);
    const strangerSession = (await (await t.request("GET", "/auth/me", undefined, bearer(stranger.accessToken))).json()) as { session: { id: string } };
    const second = await signIn(account.email, account.password);
    const secondId = ((await (await t.request("GET", "/auth/me", undefined, bearer(second))).json()) as { session: { id: string } }).session.id;
    const mutation = "mutation($id: ID!) { revokeSession(id: $id) }";
    for (const id of [strangerSession.session.id, "not-a-uuid"]) {
      expect(await restCode(await t.request("DELETE", `/auth/sessions/${id}`, undefined, bearer(accessToken)))).toBe("NOT_FOUND");
      expect(codesOf(await graphql(t, mutation, { token: accessToken, variables: { id } }))).toEqual(["NOT_FOUND"]);
    }
    expect((await graphql(t, mutation, { token: accessToken, variables: { id: secondId } })).data).toEqual({ revokeSession: true });
    expect((await t.request("GET", "/auth/me", undefined, bearer(second))).status).toBe(401);
  });

  it("revokeOtherSessions needs a recent authentication: STEP_UP_REQUIRED with maxAge, as DELETE /auth/sessions", async () => {
    const { accessToken, account } = await registerUser(t);
    await signIn(account.email, account.password);
    ageSessions();
    const rest = await t.request("DELETE", "/auth/sessions", undefined, bearer(accessToken));
    expect(await restCode(rest)).toBe("STEP_UP_REQUIRED");
    const refused = await graphql(t, "mutation { revokeOtherSessions }", { token: accessToken });
    expect(codesOf(refused)).toEqual(["STEP_UP_REQUIRED"]);
    expect(refused.errors?.[0]?.extensions.maxAge).toBe(MAX_AGE);
    offsetMs = 0;
    expect((await graphql(t, "mutation { revokeOtherSessions }", { token: accessToken })).data).toEqual({ revokeOtherSessions: 1 });
  });

  it("logout ends the session and clears a cookie session's cookies", async () => {
    const { cookies } = await registerUser(t);
    const cookie = Object.entries(cookies).map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await t.request("POST", "/graphql", { query: "mutation { logout }" }, { cookie, origin: "http://localhost:3000" });
    expect(await response.json()).toEqual({ data: { logout: true } });
    expect(response.headers.getSetCookie().some((header) => /servauth\.session=;/.test(header))).toBe(true);
    expect((await t.request("GET", "/auth/me", undefined, { cookie })).status).toBe(401);
  });
});
