import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { codeIn } from "../support/otp.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp-capture.ts";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

/**
 * One-time codes over TCP with real servers and a real SMTP server: the code is read from the delivered mail. The
 * challenge survives a restart (embedded database), and two instances on one PostgreSQL share it.
 */
const ADMIN_URL = process.env.TEST_DATABASE_URL;
const PASSWORD = "correct horse battery staple";
let counter = 0;
const newEmail = () => `otp-${Date.now().toString(36)}-${++counter}@example.com`;

function post(server: SpawnedServer, route: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

async function register(server: SpawnedServer, email: string) {
  expect((await post(server, "/auth/register", { email, password: PASSWORD })).status).toBe(201);
}

const codeMailTo = async (smtp: SmtpCapture, to: string, after = 0) =>
  codeIn(await smtp.waitFor(to, (mail) => mail.subject === "Your sign-in code" && smtp.received.indexOf(mail) >= after));

let smtp: SmtpCapture;
beforeAll(async () => {
  smtp = await startSmtpCapture();
});
afterAll(async () => {
  await smtp.close();
});

describe("one server on the embedded database, mail over SMTP", () => {
  let dataDir: string;
  let server: SpawnedServer | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-otp-"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("signs in with the mailed code through the challenge cookie, across a restart", async () => {
    const env = { SMTP_URL: smtp.url, AUTH_SECRET: randomBytes(32).toString("base64url") };
    server = await spawnServer({ runtime: "bun", dataDir, env });
    const email = newEmail();
    await register(server, email);
    const created = await post(server, "/auth/otp/create", { channel: "email", to: email, purpose: "sign-in" });
    expect(created.status).toBe(200);
    const cookie = (created.headers.getSetCookie().find((value) => value.startsWith("servauth.otp=")) ?? "").split(";")[0] ?? "";
    const code = await codeMailTo(smtp, email);
    expect(code).toMatch(/^\d{6}$/);

    // The state is on the client, its id and the key in the database: a restart loses nothing.
    expect(await server.stop()).toBe(0);
    server = await spawnServer({ runtime: "bun", dataDir, env });
    const origin = server.url;
    const verified = await post(server, "/auth/otp/verify", { code }, { cookie, origin });
    expect(verified.status, await verified.clone().text()).toBe(200);
    const { accessToken } = (await verified.json()) as { accessToken: string };
    expect((await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
    const replayed = await post(server, "/auth/otp/verify", { code }, { cookie, origin });
    expect(((await replayed.json()) as { code: string }).code).toBe("OTP_CHALLENGE_INVALID");
  });
});

describe.skipIf(ADMIN_URL === undefined)("two instances (Bun and Node) on one PostgreSQL", () => {
  let database: ScratchDatabase;
  let a: SpawnedServer | undefined;
  let b: SpawnedServer | undefined;
  beforeAll(async () => {
    database = await createScratchDatabase(ADMIN_URL ?? "", "servauth_e2e_otp");
    const env = { SMTP_URL: smtp.url, AUTH_SECRET: randomBytes(32).toString("base64url"), APP_URL: "http://servauth.test" };
    [a, b] = await Promise.all([
      spawnServer({ runtime: "bun", databaseUrl: database.url, env }),
      spawnServer({ runtime: "node", databaseUrl: database.url, env }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  test("a challenge created on A is answered on B; its states are single-use across both", async () => {
    const [serverA, serverB] = [a as SpawnedServer, b as SpawnedServer];
    const email = newEmail();
    await register(serverA, email);
    const { challenge } = (await (await post(serverA, "/auth/otp/create", { channel: "email", to: email, purpose: "sign-in" })).json()) as {
      challenge: string;
    };
    const code = await codeMailTo(smtp, email);
    const wrongCode = code.replace(/\d$/, (digit) => String((Number(digit) + 1) % 10));
    const wrong = (await (await post(serverB, "/auth/otp/verify", { challenge, code: wrongCode })).json()) as { code: string; challenge: string };
    expect(wrong.code).toBe("OTP_INVALID_CODE");
    // The state B spent is spent for A too.
    expect(((await (await post(serverA, "/auth/otp/verify", { challenge, code })).json()) as { code: string }).code).toBe("OTP_CHALLENGE_INVALID");
    // 20 parallel attempts on each instance with the right code: exactly one signs in.
    const attempts = Array.from({ length: 40 }, (_, i) => post(i % 2 === 0 ? serverA : serverB, "/auth/otp/verify", { challenge: wrong.challenge, code }));
    const statuses = (await Promise.all(attempts)).map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(39);
  });
});
