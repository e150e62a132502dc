/**
 * What the embedded database costs the requests that do not use it (issue #22). In process, no sockets: an app over
 * PGlite with a data directory (as `servauth serve` keeps it), 16 logins in flight (a toy argon2id, so the database
 * is the bottleneck) for a few seconds, while GET /auth/me (answered from memory) is sent every 10 ms and a 10 ms
 * timer measures how late the event loop runs it. Once per EMBEDDED_DATABASE_THREAD value.
 *
 *   bun bench/pglite-thread.ts [seconds=10]     (Bun only, as bench/lib/server.ts is)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { IN_PROCESS_APP_URL, openInProcessApp } from "./lib/in-process-app.ts";
import { PASSWORD } from "./lib/prepare.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const IN_FLIGHT = 16;
const WARMUP_LOGINS = 200;
const PERIOD_MS = 10;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function measure(thread: "main" | "worker") {
  const dataDir = await mkdtemp(path.join(tmpdir(), "servauth-bench-pglite-"));
  delete process.env.DATABASE_URL;
  const app = await openInProcessApp({ DATA_DIR: dataDir, EMBEDDED_DATABASE_THREAD: thread });
  try {
    const post = (route: string, email: string) =>
      app.fetch(
        new Request(`${IN_PROCESS_APP_URL}${route}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: PASSWORD }),
        }),
      );
    const register = async (email: string) => {
      const registered = await post("/auth/register", email);
      if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
      return (await registered.json()) as { accessToken: string };
    };
    // Logins evict the oldest sessions of their account: /auth/me asks as another one.
    await register("logs-in@example.com");
    const { accessToken } = await register("reads-me@example.com");
    const me = () => app.fetch(new Request(`${IN_PROCESS_APP_URL}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } }));

    let stopAt = 0;
    let logins = 0;
    const loginUntil = (stop: () => boolean) =>
      Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (!stop()) {
            const response = await post("/auth/login", "logs-in@example.com");
            if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
            await response.arrayBuffer();
            logins++;
          }
        }),
      );
    // Past the session cap from here on, so every measured login also evicts a session, as under wrk.
    await loginUntil(() => logins >= WARMUP_LOGINS);
    logins = 0;

    const meLatencies: number[] = [];
    const loopDelays: number[] = [];
    stopAt = performance.now() + SECONDS * 1000;
    const running = () => performance.now() < stopAt;
    const sampleLoop = new Promise<void>((done) => {
      let due = performance.now() + PERIOD_MS;
      const tick = () => {
        const now = performance.now();
        loopDelays.push(now - due);
        due = now + PERIOD_MS;
        if (running()) setTimeout(tick, PERIOD_MS);
        else done();
      };
      setTimeout(tick, PERIOD_MS);
    });
    // Timed from when the request was due, not from when a late timer sent it: a request arriving on a socket
    // waits for the event loop just as long.
    const sampleMe = (async () => {
      while (running()) {
        const due = performance.now() + PERIOD_MS;
        await new Promise((resolve) => setTimeout(resolve, PERIOD_MS));
        const response = await me();
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`me: ${response.status}`);
        meLatencies.push(performance.now() - due);
      }
    })();
    const started = performance.now();
    await Promise.all([loginUntil(() => !running()), sampleLoop, sampleMe]);
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `${thread.padEnd(6)} ${Math.round(logins / elapsed)} logins/s; GET /auth/me (${meLatencies.length}) p50 ${ms(percentile(meLatencies, 50))} ` +
        `p99 ${ms(percentile(meLatencies, 99))} max ${ms(Math.max(...meLatencies))}; event-loop delay (${loopDelays.length}) p50 ` +
        `${ms(percentile(loopDelays, 50))} p99 ${ms(percentile(loopDelays, 99))} max ${ms(Math.max(...loopDelays))}`,
    );
  } finally {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const runtime = typeof Bun === "undefined" ? `node ${process.versions.node}` : `bun ${Bun.version}`;
console.log(`${runtime}; ${IN_FLIGHT} logins in flight (toy argon2id) for ${SECONDS} s on PGlite with a data directory`);
for (const thread of ["main", "worker"] as const) await measure(thread);
