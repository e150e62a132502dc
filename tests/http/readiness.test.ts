import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hasRedisServer, type PrivateRedis, startPrivateRedis } from "../support/private-redis.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * /ready gates on the database only. A revocation bus that is down is reported as "degraded" with 200: the instance
 * still answers correctly (it validates sessions against the database instead of its cache), and failing
 * readiness would take every instance sharing that bus out of rotation at once.
 */

type Readiness = { status: string; checks: { database: string; revocationBus: string } };

async function readiness(t: TestApp): Promise<{ status: number; body: Readiness }> {
  const response = await t.request("GET", "/ready");
  return { status: response.status, body: (await response.json()) as Readiness };
}

/** Polls /ready until the bus reports `state` (a broadcast bus proves itself by heartbeats, so this takes a moment). */
async function busBecomes(t: TestApp, state: "ok" | "degraded", timeoutMs = 5_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await readiness(t);
    expect(status).toBe(200);
    if (body.checks.revocationBus === state || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("GET /ready", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("reports each check while everything is up", async () => {
    expect(await busBecomes(t, "ok")).toEqual({ status: "ready", checks: { database: "ok", revocationBus: "ok" } });
  });

  it("stays 200 but reports the revocation bus degraded while it is down, as does the bus gauge", async () => {
    const down = vi.spyOn(t.services.bus, "isConnected").mockReturnValue(false);
    try {
      expect(await readiness(t)).toEqual({ status: 200, body: { status: "ready", checks: { database: "ok", revocationBus: "degraded" } } });
      const metrics = await (await t.request("GET", "/metrics")).text();
      expect(metrics).toMatch(/^servauth_revocation_bus_connected 0$/m);
    } finally {
      down.mockRestore();
    }
  });
});

describe.skipIf(!hasRedisServer())("GET /ready with REDIS_URL, through a Redis outage", () => {
  let redis: PrivateRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    // Only the revocation bus on this Redis: the rate-limit counters (which fail closed without their store) stay in
    // memory, so what is seen here is the bus alone.
    t = await createTestApp({ REDIS_URL: redis.url, REVOCATION_HEARTBEAT_MS: "50", RATE_LIMIT_STORE: "memory" });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it("reports the bus degraded while Redis is down, keeps validating sessions against the database, and recovers", async () => {
    expect((await busBecomes(t, "ok")).checks.revocationBus).toBe("ok");
    await redis.kill();
    expect(await busBecomes(t, "degraded")).toEqual({ status: "ready", checks: { database: "ok", revocationBus: "degraded" } });
    const { accessToken } = await registerUser(t);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
    expect((await t.request("POST", "/auth/logout", undefined, bearer(accessToken))).status).toBe(204);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(401);
    await redis.restart();
    expect((await busBecomes(t, "ok", 15_000)).checks.revocationBus).toBe("ok");
  });
});
