import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp-capture.ts";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

/**
 * Mail survives the process: a verification mail whose delivery is in flight when the server is SIGKILLed (no
 * shutdown, no drain) arrives once the server is back, after its lease ends, exactly once.
 */

const PASSWORD = "correct horse battery staple";
const env = { OUTBOX_LEASE_SECONDS: "2", OUTBOX_POLL_SECONDS: "1" };

/** An SMTP port that accepts connections and never says a word: a delivery to it hangs mid-flight. */
async function startSilentSmtp() {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => void sockets.push(socket));
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
