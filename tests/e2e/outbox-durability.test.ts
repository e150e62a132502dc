import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp-capture.ts";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

/**
 * Mail survives the process: a verification mail whose delivery is in flight when the server is SIGKILLed (no
 * shutdown, no drain) arrives once the server is back, after its lease ends, exactly once; and so does a mail that
 * was not even composed yet (a password reset answered, its intent not yet worked off).
 */

const PASSWORD = "correct horse battery staple";
const env = { OUTBOX_LEASE_SECONDS: "2", OUTBOX_POLL_SECONDS: "1" };

/** An SMTP port that accepts connections and never says a word: a delivery to it hangs mid-flight. */
async function startSilentSmtp() {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    // The server under test is SIGKILLed with this connection open: its reset is expected, not the test's failure.
    socket.on("error", () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a mail in flight when the server is SIGKILLed", () => {
  let dataDir: string;
  let server: SpawnedServer | undefined;
  let silent: Awaited<ReturnType<typeof startSilentSmtp>>;
  let smtp: SmtpCapture;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-outbox-"));
    silent = await startSilentSmtp();
    smtp = await startSmtpCapture();
  });
  afterAll(async () => {
    await server?.stop();
    await silent.close();
    await smtp.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("arrives after the restart, once", async () => {
    server = await spawnServer({ runtime: "bun", dataDir, env: { ...env, SMTP_URL: silent.url } });
    const email = `durable-${Date.now()}@example.com`;
    const registered = await fetch(`${server.url}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(registered.status).toBe(201);
    // The worker has connected to the mail server: the delivery is under way.
    await expect.poll(() => silent.connections(), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
    await server.stop("SIGKILL");

    server = await spawnServer({ runtime: "bun", dataDir, env: { ...env, SMTP_URL: smtp.url } });
    const mail = await smtp.waitFor(email, (received) => received.subject === "Confirm your email address", 20_000);
    expect(mail.text).toContain("/verify-email?token=");
    // Another poll or two: the delivered row is not sent again.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(smtp.received.filter((received) => received.to.includes(email))).toHaveLength(1);
  });
});

const ADMIN_URL = process.env.TEST_DATABASE_URL;

/**
 * On PostgreSQL, where the test can hold a lock behind the server's back: the users table is locked, so the reset
 * request is answered (it only writes its intent) while its composing waits on the lock; the server is SIGKILLed
 * then, and the restarted one composes the intent once its lease ends.
 */
describe.skipIf(ADMIN_URL === undefined)("a password reset answered but not yet composed when the server is SIGKILLed", () => {
  let database: ScratchDatabase;
  let server: SpawnedServer | undefined;
  let smtp: SmtpCapture;
  // One AUTH_SECRET for both servers: the intent is sealed under it.
  const secret = randomBytes(32).toString("base64url");
  const startWith = () => spawnServer({ runtime: "bun", databaseUrl: database.url, env: { ...env, SMTP_URL: smtp.url, AUTH_SECRET: secret } });

  beforeAll(async () => {
    database = await createScratchDatabase(ADMIN_URL ?? "");
    smtp = await startSmtpCapture();
  });
  afterAll(async () => {
    await server?.stop();
    await smtp.close();
    await database.drop();
  });

  test("is composed and mailed after the restart, once", async () => {
    server = await startWith();
    const email = `composed-${Date.now()}@example.com`;
    const post = (route: string, body: unknown) =>
      fetch(`${server?.url}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    expect((await post("/auth/register", { email, password: PASSWORD })).status).toBe(201);

    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = database.sql.begin(async (tx) => {
      await tx`lock table users in access exclusive mode`;
      locked();
      await released;
    });
    try {
      await isLocked;
      expect((await post("/auth/forgot-password", { email })).status).toBe(202);
      // The composer's lookup of the address waits on the lock: the intent is claimed, its mail not written.
      await expect
        .poll(
          async () => (await database.sql`select count(*)::int as n from pg_stat_activity where datname = ${database.name} and wait_event_type = 'Lock' and query like '%from "users" where "users"."email"%'`)[0]?.n,
          { timeout: 10_000, interval: 50 },
        )
        .toBeGreaterThan(0);
      await server.stop("SIGKILL");
    } finally {
      release();
      await holding;
    }

    server = await startWith();
    const mail = await smtp.waitFor(email, (received) => received.subject === "Reset your password", 20_000);
    expect(mail.text).toContain("/reset-password?token=");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(smtp.received.filter((received) => received.to.includes(email) && received.subject === "Reset your password")).toHaveLength(1);
  });
});
