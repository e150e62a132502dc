import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../src/db/tables/sessions.ts";
import { useMovableClock } from "../support/clock.ts";
import { bearer, createTestApp, registerUser, TEST_CLIENT_IP, type TestApp } from "../support/test-app.ts";

const clock = useMovableClock();

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ MAX_SESSIONS_PER_USER: "3" });
});
afterAll(async () => {
  await t.close();
});

async function login(account: { email: string; password: string }, userAgent = "test-agent") {
  const response = await t.request("POST", "/auth/login", account, { "user-agent": userAgent });
  expect(response.status).toBe(200);
  return (await response.json()) as { accessToken: string; refreshToken: string };
}

async function list(accessToken: string) {
  const response = await t.request("GET", "/auth/sessions", undefined, bearer(accessToken));
  expect(response.status).toBe(200);
  return (await response.json()).sessions as Array<{ id: string; current: boolean; ipAddress: string; userAgent: string }>;
}

describe("GET /auth/sessions", () => {
  it("lists the caller's sessions with the current one marked, and nobody else's", async () => {
    const { account, accessToken } = await registerUser(t);
    const phone = await login(account, "phone-app/1.0");
    await registerUser(t); // someone else
    const listed = await list(phone.accessToken);
    expect(listed).toHaveLength(2);
    expect(listed.filter((s) => s.current)).toHaveLength(1);
    const current = listed.find((s) => s.current);
    expect(current).toMatchObject({ ipAddress: TEST_CLIENT_IP, userAgent: "phone-app/1.0" });
    expect(Object.keys(current ?? {}).sort()).toEqual(["aal", "amr", "authTime", "createdAt", "current", "expiresAt", "id", "impersonated", "ipAddress", "lastActiveAt", "userAgent"]);
    expect((await list(accessToken)).find((s) => s.current)?.id).not.toBe(current?.id);
  });
});

describe("DELETE /auth/sessions/:id", () => {
  it("ends one of the caller's sessions; its tokens stop working at once", async () => {
    const { account, accessToken } = await registerUser(t);
    const other = await login(account);
    const otherId = (await list(other.accessToken)).find((s) => s.current)?.id;
    const response = await t.request("DELETE", `/auth/sessions/${otherId}`, undefined, bearer(accessToken));
    expect(response.status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).status).toBe(401);
    expect((await t.request("POST", "/auth/refresh", { refreshToken: other.refreshToken })).status).toBe(401);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  it("answers 404 for someone else's session and leaves it alone", async () => {
    const victim = await registerUser(t);
    const victimSessionId = (await list(victim.accessToken))[0]?.id;
    const attacker = await registerUser(t);
    const response = await t.request("DELETE", `/auth/sessions/${victimSessionId}`, undefined, bearer(attacker.accessToken));
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
    expect((await t.request("GET", "/auth/me", undefined, bearer(victim.accessToken))).status).toBe(200);
  });

  it.each(["not-a-uuid", "00000000-0000-0000-0000-000000000000"])("answers 404 for %s", async (id) => {
    const { accessToken } = await registerUser(t);
    expect((await t.request("DELETE", `/auth/sessions/${id}`, undefined, bearer(accessToken))).status).toBe(404);
  });

  it("answers 401 without credentials", async () => {
    expect((await t.request("DELETE", "/auth/sessions/00000000-0000-0000-0000-000000000000")).status).toBe(401);
  });
});

describe("DELETE /auth/sessions", () => {
  it("ends every session but the current one", async () => {
    const { account, accessToken } = await registerUser(t);
    const others = [await login(account), await login(account)];
    expect((await t.request("DELETE", "/auth/sessions", undefined, bearer(accessToken))).status).toBe(204);
    for (const other of others) expect((await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).status).toBe(401);
    const remaining = await list(accessToken);
    expect(remaining).toHaveLength(1);
    expect(remaining[0]?.current).toBe(true);
  });
});

describe("MAX_SESSIONS_PER_USER", () => {
  it("ends the oldest session when a new login goes over the cap", async () => {
    const { account, accessToken: oldest } = await registerUser(t);
    const second = await login(account);
    const third = await login(account);
    const fourth = await login(account);
    expect((await t.request("GET", "/auth/me", undefined, bearer(oldest))).status).toBe(401);
    for (const kept of [second, third, fourth]) {
      expect((await t.request("GET", "/auth/me", undefined, bearer(kept.accessToken))).status).toBe(200);
    }
    expect(await list(fourth.accessToken)).toHaveLength(3);
  });
});

describe("the validation cache", () => {
  it("serves a profile change on the very next request", async () => {
    const { accessToken, account } = await registerUser(t);
    await t.request("GET", "/auth/me", undefined, bearer(accessToken)); // warm the cache
    await t.request("PUT", "/auth/me", { username: "fresh_name" }, bearer(accessToken));
    expect((await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()).user.username).toBe("fresh_name");
    const other = await login(account);
    await t.request("GET", "/auth/me", undefined, bearer(other.accessToken));
    await t.request("PUT", "/auth/me", { username: "renamed_again" }, bearer(accessToken));
    expect((await (await t.request("GET", "/auth/me", undefined, bearer(other.accessToken))).json()).user.username).toBe("renamed_again");
  });

  it("writes lastActiveAt once per resolution, not per request", async () => {
    const quick = await createTestApp({ SESSION_ACTIVITY_RESOLUTION: "1" });
    try {
      const { accessToken } = await registerUser(quick);
      const sessionId = (await (await quick.request("GET", "/auth/me", undefined, bearer(accessToken))).json()).session.id;
      const lastActive = async () =>
        (await quick.db.select({ at: sessions.lastActiveAt }).from(sessions).where(eq(sessions.id, sessionId)))[0]?.at.getTime();
      const atLogin = await lastActive();
      for (let i = 0; i < 5; i++) await quick.request("GET", "/auth/me", undefined, bearer(accessToken));
      expect(await lastActive()).toBe(atLogin);
      clock.advance(1100);
      await quick.request("GET", "/auth/me", undefined, bearer(accessToken));
      await expect.poll(lastActive).toBeGreaterThan(atLogin ?? 0);
      const listed = (await (await quick.request("GET", "/auth/sessions", undefined, bearer(accessToken))).json()).sessions;
      expect(Date.parse(listed[0].lastActiveAt)).toBeGreaterThan(atLogin ?? 0);
    } finally {
      await quick.close();
    }
  });
});
