import { randomBytes } from "node:crypto";
import { createServer, connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, describe, expect, test } from "vitest";
import { startPrivateRedis } from "../support/private-redis.ts";
import { createScratchDatabase } from "../support/scratch-database.ts";
import { freePort, spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "";
const APP_URL = "http://servauth.test";
const AUTH_SECRET = randomBytes(32).toString("base64url");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

async function register(s: SpawnedServer) {
  const r = await fetch(`${s.url}/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: `p-${randomBytes(5).toString("hex")}@example.com`, password: "correct horse battery staple" }) });
  expect(r.status, await r.clone().text()).toBe(201);
  return (await r.json()) as { accessToken: string };
}
const me = async (s: SpawnedServer, t: string) => (await fetch(`${s.url}/auth/me`, { headers: { authorization: `Bearer ${t}` } })).status;
const logout = async (s: SpawnedServer, t: string) => (await fetch(`${s.url}/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${t}` } })).status;
async function statusAfter(s: SpawnedServer, t: string, ms: number) {
  const start = performance.now();
  let st = 0;
  while (performance.now() - start < ms) { st = await me(s, t); if (st === 401) return `401 after ${Math.round(performance.now() - start)} ms`; await sleep(20); }
  return `still ${st} after ${ms} ms`;
}
const env = (extra: Record<string, string>) => ({ APP_URL, AUTH_SECRET, NODE_ENV: "test", ...extra });

function proxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) { client.destroy(); return; }
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client); sockets.add(upstream);
    client.pipe(upstream); upstream.pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on("error", close); upstream.on("error", close); client.on("close", close); upstream.on("close", close);
  });
  return {
    listen: (port: number) => new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r())),
    cut() { cut = true; for (const s of sockets) s.destroy(); },
    heal() { cut = false; },
    refuse() { for (const s of sockets) s.destroy(); return new Promise<void>((r) => server.close(() => r())); },
    unrefuse: (port: number) => new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r())),
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

describe("probes", () => {
  test.skip("Redis: B's link blips for 300 ms (default heartbeat) while A logs out", async () => {
    const db = await createScratchDatabase(ADMIN_URL); cleanups.push(() => db.drop());
    const redis = await startPrivateRedis(); cleanups.push(() => redis.close());
    const p = proxy(redis.port); const pport = await freePort(); await p.listen(pport); cleanups.push(() => p.close());
    const a = await spawnServer({ runtime: "bun", databaseUrl: db.url, env: env({ REDIS_URL: redis.url }) }); cleanups.push(() => a.stop());
    const b = await spawnServer({ runtime: "bun", databaseUrl: db.url, env: env({ REDIS_URL: `redis://127.0.0.1:${pport}` }) }); cleanups.push(() => b.stop());
    await sleep(1500);
    for (let i = 0; i < 3; i++) {
      const acc = await register(a);
      expect(await me(b, acc.accessToken)).toBe(200);
      p.cut();
      await sleep(50);
      const st = await logout(a, acc.accessToken);
      await sleep(250);
      p.heal();
      console.log(`redis B blip #${i}: logout ${st}, B:`, await statusAfter(b, acc.accessToken, 3000));
      await sleep(3000);
    }
  });

  test("PG: B's database link cut for 300 ms, then 3 s", async () => {
    const db = await createScratchDatabase(ADMIN_URL); cleanups.push(() => db.drop());
    const pg = new URL(ADMIN_URL);
    const p = proxy(Number(pg.port || 5432)); const pport = await freePort(); await p.listen(pport); cleanups.push(() => p.close());
    const bUrl = new URL(db.url); bUrl.host = `127.0.0.1:${pport}`;
    const a = await spawnServer({ runtime: "bun", databaseUrl: db.url, env: env({ REVOCATION_HEARTBEAT_MS: "200" }) }); cleanups.push(() => a.stop());
    const b = await spawnServer({ runtime: "bun", databaseUrl: bUrl.toString(), env: env({ REVOCATION_HEARTBEAT_MS: "200" }) }); cleanups.push(() => b.stop());
    await sleep(1000);
    for (const [mode, cutMs] of [["destroy", 3000], ["refuse", 3000]] as const) {
      const acc = await register(a);
      expect(await me(b, acc.accessToken)).toBe(200);
      if (mode === "destroy") p.cut(); else await p.refuse();
      await sleep(20);
      const st = await logout(a, acc.accessToken);
      await sleep(cutMs);
      if (mode === "destroy") p.heal(); else await p.unrefuse(pport);
      console.log(`pg B ${mode} ${cutMs}: logout ${st}, B:`, await statusAfter(b, acc.accessToken, 3000));
      // does B ever trust its cache again (i.e. did its LISTEN come back)?
      let trusted = false;
      const start = performance.now();
      while (!trusted && performance.now() - start < 30000) {
        const x = await register(b);
        expect(await me(b, x.accessToken)).toBe(200);
        const sid = JSON.parse(Buffer.from(x.accessToken.split(".")[1]!, "base64url").toString()).sid;
        await db.sql`delete from sessions where id = ${sid}`;
        trusted = (await me(b, x.accessToken)) === 200;
        if (!trusted) await sleep(200);
      }
      console.log(`pg B ${mode} ${cutMs}: B trusts its cache again: ${trusted} after ${Math.round(performance.now() - start)} ms`);
      console.log(b.output().slice(-1500));
    }
  });
});
