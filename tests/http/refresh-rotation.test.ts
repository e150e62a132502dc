import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { refreshTokens } from "../../src/db/tables/sessions.ts";
import { useMovableClock } from "../support/clock.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

const clock = useMovableClock();

let t: TestApp;
let noGrace: TestApp;
beforeAll(async () => {
  [t, noGrace] = await Promise.all([createTestApp(), createTestApp({ REFRESH_GRACE_SECONDS: "0" })]);
});
afterAll(async () => {
  await Promise.all([t.close(), noGrace.close()]);
});

async function refresh(app: TestApp, refreshToken: string) {
  const response = await app.request("POST", "/auth/refresh", { refreshToken });
  return { status: response.status, body: await response.json() };
}

async function currentTokens(app: TestApp, sessionId: string) {
  return app.db
    .select({ id: refreshTokens.id })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.sessionId, sessionId), isNull(refreshTokens.replacedAt)));
}

describe("refresh token rotation", () => {
  it("answers a retry of the just-replaced token inside the grace window with the same working pair", async () => {
    const { refreshToken } = await registerUser(t);
    const first = await refresh(t, refreshToken);
    const retry = await refresh(t, refreshToken);
    expect(retry.status).toBe(200);
    expect(retry.body.refreshToken).toBe(first.body.refreshToken);
    expect((await t.request("GET", "/auth/me", undefined, bearer(retry.body.accessToken))).status).toBe(200);
    expect((await refresh(t, first.body.refreshToken)).status).toBe(200);
  });

  it("treats a replayed token whose successor was already used as theft: 401 REFRESH_TOKEN_REUSED, session revoked", async () => {
    const { refreshToken, accessToken, user } = await registerUser(t);
    const first = await refresh(t, refreshToken);
    const second = await refresh(t, first.body.refreshToken);
    const replay = await refresh(t, refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe("REFRESH_TOKEN_REUSED");
    for (const token of [accessToken, first.body.accessToken, second.body.accessToken]) {
      expect((await t.request("GET", "/auth/me", undefined, bearer(token))).status).toBe(401);
    }
    expect((await refresh(t, second.body.refreshToken)).status).toBe(401);
    const audited = await t.db.select().from(auditEvents).where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, "token.refresh_reused")));
    expect(audited).toHaveLength(1);
  });

  it("treats any replay after the grace window as theft", async () => {
    const { refreshToken, accessToken } = await registerUser(noGrace);
    const first = await refresh(noGrace, refreshToken);
    expect(first.status).toBe(200);
    const replay = await refresh(noGrace, refreshToken);
    expect(replay.body.code).toBe("REFRESH_TOKEN_REUSED");
    expect((await noGrace.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    expect((await refresh(noGrace, first.body.refreshToken)).status).toBe(401);
  });

  it("with REFRESH_GRACE_SECONDS=0 gives no grace at all, not even to a replay within the same millisecond", async () => {
    const { refreshToken } = await registerUser(noGrace);
    // Time stands still: rotation and replay happen at the same instant (CI met this on PGlite, whose clock counts
    // milliseconds, when the replay came within the rotation's millisecond).
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      expect((await refresh(noGrace, refreshToken)).status).toBe(200);
      const replay = await refresh(noGrace, refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe("REFRESH_TOKEN_REUSED");
    } finally {
      vi.useRealTimers();
    }
  });

  it("ends 50 parallel refreshes of one token on exactly one lineage, with no errors", async () => {
    const { refreshToken, accessToken } = await registerUser(t);
    const sessionId = (await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()).session.id;
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(t, refreshToken)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
    expect(await currentTokens(t, sessionId)).toHaveLength(1);
    expect((await refresh(t, results[0]!.body.refreshToken)).status).toBe(200);
  });

  it("never fails a logout racing refreshes of the same session (no deadlock, no 500)", async () => {
    for (let round = 0; round < 15; round++) {
      const { refreshToken, accessToken } = await registerUser(t);
      const [logout, ...refreshes] = await Promise.all([
        t.request("POST", "/auth/logout", undefined, bearer(accessToken)),
        t.request("POST", "/auth/refresh", { refreshToken }),
        t.request("POST", "/auth/refresh", { refreshToken }),
      ]);
      expect(logout.status).toBe(204);
      for (const response of refreshes) expect([200, 401]).toContain(response.status);
      expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    }
  });

  it("does not punish an unknown token", async () => {
    const { accessToken } = await registerUser(t);
    const response = await refresh(t, "A".repeat(43));
    expect(response.body.code).toBe("INVALID_REFRESH_TOKEN");
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });
});

describe("session lifetime", () => {
  it("stops refreshing at SESSION_MAX_AGE however often the session is refreshed", async () => {
    const short = await createTestApp({ REFRESH_TOKEN_TTL: "1", SESSION_MAX_AGE: "2" });
    try {
      const { refreshToken } = await registerUser(short);
      clock.advance(600);
      const first = await refresh(short, refreshToken);
      expect(first.status).toBe(200);
      clock.advance(700);
      const second = await refresh(short, first.body.refreshToken);
      expect(second.status).toBe(200);
      clock.advance(800);
      expect((await refresh(short, second.body.refreshToken)).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it("expires an idle session after REFRESH_TOKEN_TTL", async () => {
    const short = await createTestApp({ REFRESH_TOKEN_TTL: "1", SESSION_MAX_AGE: "60" });
    try {
      const { refreshToken, accessToken } = await registerUser(short);
      clock.advance(1100);
      expect((await refresh(short, refreshToken)).body.code).toBe("INVALID_REFRESH_TOKEN");
      expect((await short.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    } finally {
      await short.close();
    }
  });
});
