import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

const PASSWORD = "correct horse battery staple";
const env = { ACCOUNT_DELETION_GRACE: "2", DELETION_SWEEP_INTERVAL: "1" };

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

describe("a scheduled deletion survives a restart", () => {
  let dataDir: string;
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-deletion-"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("the server that comes back carries out a deletion scheduled before it went down", async () => {
    server = await spawnServer({ runtime: "bun", dataDir, env });
    const email = `deleted-${Date.now()}@example.com`;
    const registered = await post(`${server.url}/auth/register`, { email, password: PASSWORD });
    expect(registered.status).toBe(201);
    const { accessToken } = (await registered.json()) as { accessToken: string };
    const scheduled = await fetch(`${server.url}/auth/me`, {
      method: "DELETE",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(scheduled.status).toBe(202);
    const { deletionScheduledAt } = (await scheduled.json()) as { deletionScheduledAt: string };
    expect(await server.stop()).toBe(0);

    // Down for the whole grace period: no timer in memory could do it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(Date.parse(deletionScheduledAt) - Date.now(), 0) + 100));
    server = await spawnServer({ runtime: "bun", dataDir, env });
    const { url } = server;
    // Pending: 403 ACCOUNT_PENDING_DELETION. Deleted: the ordinary 401 for an unknown account.
    await expect
      .poll(async () => (await post(`${url}/auth/login`, { email, password: PASSWORD })).status, { timeout: 10_000, interval: 200 })
      .toBe(401);
  });
});
