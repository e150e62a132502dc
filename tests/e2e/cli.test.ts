import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { type EnvOverrides, type Runtime, runCli, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * The `servauth` CLI as an operator runs it: real processes, a real embedded data directory and (when
 * TEST_DATABASE_URL is set) a real PostgreSQL database of this file's own. Users made by the CLI sign in over HTTP;
 * a revocation by the CLI is enforced by the server.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL;
const PASSWORD = "correct horse battery staple";
/** The JWT issuer; the same across restarts, so a 401 after one means revoked, not "issued by someone else". */
const APP_URL = "http://servauth.test";
const COMMANDS = ["serve", "migrate", "keys rotate", "users create", "users list", "users revoke-sessions", "users unlock", "users set-roles", "config check"];

let counter = 0;
const newEmail = () => `cli-${Date.now().toString(36)}-${++counter}@example.com`;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type ListedUser = { id: string; email: string; activeSessions: number } & Record<string, unknown>;

function expectOneErrorLine(stderr: string) {
  expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

async function login(server: SpawnedServer, email: string, password = PASSWORD): Promise<{ status: number; accessToken: string }> {
  const response = await fetch(`${server.url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { accessToken: string };
  return { status: response.status, accessToken: body.accessToken };
}

async function meStatus(server: SpawnedServer, accessToken: string): Promise<number> {
  const response = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status;
}

async function listUsers(runtime: Runtime, env: EnvOverrides): Promise<ListedUser[]> {
  const result = await runCli(runtime, ["users", "list", "--json"], env);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trimEnd().split("\n").filter(Boolean).map((line) => JSON.parse(line) as ListedUser);
}

describe("usage", () => {
  test.each(COMMANDS)("servauth %s --help: exit 0 with the command's usage", async (command) => {
    const result = await runCli("bun", [...command.split(" "), "--help"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: servauth ${command}`));
  });

  test.each<Runtime>(["bun", "node"])("on %s: usage errors exit 2 with one line on stderr", async (runtime) => {
    for (const args of [
      ["users", "create", "--email", "a@example.com", "--frobnicate"],
      ["users", "create", "--email", "a@example.com"],
      ["users", "create", "--email", "a@example.com", "--password-stdin", "--role", "Admin"],
      ["users", "set-roles", "a@example.com"],
      ["users", "set-roles", "a@example.com", "admin,bad role"],
      ["users", "revoke-sessions"],
      ["users", "unlock", "not-an-email"],
      ["migrate", "extra"],
    ]) {
      const result = await runCli(runtime, args, {}, 30_000, PASSWORD);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expectOneErrorLine(result.stderr);
      expect(result.stderr).toMatch(/^servauth [a-z -]+: /);
    }
    const role = await runCli(runtime, ["users", "create", "--email", "a@example.com", "--password-stdin", "--role", "Admin"]);
    expect(role.stderr).toContain('"Admin" is not a role name');
  });

  test("a bare group lists its commands and exits 2", async () => {
    const result = await runCli("bun", ["users"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("users revoke-sessions");
    expect(result.stderr).not.toContain("keys rotate");
  });
});

describe("config check", () => {
  const secrets = {
    AUTH_SECRET: "s3cret-value-s3cret-value-s3cret-value",
    DATABASE_URL: "postgres://servauth:pg-pass-4711@db.internal:5432/servauth",
    REDIS_URL: "redis://default:redis-pass-0815@cache.internal:6379",
    SMTP_URL: "smtp://mailer:smtp-pass-2342@mail.internal:587",
  };

  test("prints the effective configuration with every secret redacted", async () => {
    const result = await runCli("bun", ["config", "check"], { ...secrets, NODE_ENV: "production", APP_URL: "https://auth.example.com" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("configuration is valid");
    expect(result.stdout).toMatch(/appUrl\s+https:\/\/auth\.example\.com/);
    expect(result.stdout).toMatch(/database\s+postgres \(postgres:\/\/servauth:\*\*\*@db\.internal:5432\/servauth\)/);
    expect(result.stdout).toMatch(/authSecret\s+\[redacted\]/);
    for (const secret of ["s3cret-value", "pg-pass-4711", "redis-pass-0815", "smtp-pass-2342"]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    const json = await runCli("node", ["config", "check", "--json"], { ...secrets, PORT: "8080" });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ port: 8080, redisUrl: "redis://default:***@cache.internal:6379" });
    expect(json.stdout).not.toMatch(/s3cret-value|pg-pass-4711|redis-pass-0815|smtp-pass-2342/);
  });

  test.each<Runtime>(["bun", "node"])("on %s: reports a social-login provider whose discovery fails, with its secret redacted", async (runtime) => {
    const result = await runCli(runtime, ["config", "check"], {
      OAUTH_PROVIDERS: "corp",
      OAUTH_CORP_CLIENT_ID: "corp-client",
      OAUTH_CORP_CLIENT_SECRET: "corp-secret-9876",
      // Nothing listens on the discard port.
      OAUTH_CORP_ISSUER: "http://127.0.0.1:9",
      OAUTH_HTTP_TIMEOUT_MS: "500",
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/oauth\.providers\.corp\.discovery\s+unavailable/);
    expect(result.stdout).toMatch(/oauth\.providers\.corp\.clientSecret\s+\[redacted\]/);
    expect(result.stdout + result.stderr).not.toContain("corp-secret-9876");
  });

  test.each<Runtime>(["bun", "node"])("on %s: exit 1, one line naming each bad variable, no secret values", async (runtime) => {
    const result = await runCli(runtime, ["config", "check"], {
      NODE_ENV: "production",
      PORT: "eighty",
      AUTH_SECRET: "too-short-secret",
      DATABASE_URL: "mysql://root:mysql-pass-1234@db/servauth",
      REDIS_URL: "http://cache:6379",
      TRUST_PROXY: "-1",
    });
    expect(result.code, result.stderr).toBe(1);
    expectOneErrorLine(result.stderr);
    for (const variable of ["PORT", "AUTH_SECRET", "DATABASE_URL", "REDIS_URL", "TRUST_PROXY", "APP_URL"]) {
      expect(result.stderr).toContain(`${variable}:`);
    }
    expect(result.stderr).not.toMatch(/too-short-secret|mysql-pass-1234/);
    expect(result.stdout).toBe("");
  });
});

describe("users commands on the embedded database", () => {
  let dataDir: string;
  let server: SpawnedServer | undefined;
  const env = () => ({ DATA_DIR: dataDir, APP_URL });
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-cli-"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // PGlite is single-process: the CLI runs while the server is stopped.
  test("create, list, sign in over HTTP, revoke-sessions; the server then refuses the revoked token", { timeout: 180_000 }, async () => {
    const email = newEmail();
    // The server's password policy applies, as on registration.
    const weak = await runCli("bun", ["users", "create", "--email", email, "--password-stdin"], { ...env(), PASSWORD_MIN_LENGTH: "40" }, 60_000, PASSWORD);
    expect(weak.code, weak.stderr).toBe(2);
    expect(weak.stderr).toMatch(/^servauth users create: password: .*40/);

    const created = await runCli("bun", ["users", "create", "--email", email.toUpperCase(), "--password-stdin"], env(), 60_000, `${PASSWORD}\n`);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^created user [0-9a-f-]{36} ${email}\\n$`));

    const duplicate = await runCli("node", ["users", "create", "--email", email, "--password-stdin"], env(), 60_000, PASSWORD);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe("servauth users create: The email address is already registered\n");

    const table = await runCli("bun", ["users", "list"], env());
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+EMAIL\s+USERNAME\s+VERIFIED\s+CREATED\s+SESSIONS$/);
    expect(table.stdout).toContain(email);

    server = await spawnServer({ runtime: "bun", dataDir, env: { APP_URL } });
    const first = await login(server, email);
    expect(first.status).toBe(200);
    expect(await meStatus(server, first.accessToken)).toBe(200);
    const stopped = server;
    server = undefined;
    expect(await stopped.stop()).toBe(0);

    const [listed] = (await listUsers("node", env())).filter((user) => user.email === email);
    expect(listed).toMatchObject({ email, activeSessions: 1, emailVerified: false });
    expect(Object.keys(listed ?? {}).join(" ")).not.toMatch(/password|hash|token|secret/i);

    const revoked = await runCli("bun", ["users", "revoke-sessions", email], env());
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked 1 session of ${email}\n`);

    server = await spawnServer({ runtime: "bun", dataDir, env: { APP_URL } });
    expect(await meStatus(server, first.accessToken)).toBe(401);
    // The server does accept tokens: a new sign-in works.
    const second = await login(server, email);
    expect(second.status).toBe(200);
    expect(await meStatus(server, second.accessToken)).toBe(200);
  });

  test("unlock refuses the memory rate-limit store: its counters live in the server process", { timeout: 60_000 }, async () => {
    const emptyDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-cli-unlock-"));
    try {
      const result = await runCli("bun", ["users", "unlock", newEmail()], { DATA_DIR: emptyDir, APP_URL });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe("servauth users unlock: the rate-limit store is memory: lockouts live in the server process and a restart clears them\n");
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});

/** The admin API answers for `accessToken`: 200 for an administrator, 403 for anyone else. */
async function adminApiStatus(server: SpawnedServer, accessToken: string): Promise<number> {
  const response = await fetch(`${server.url}/auth/admin/users?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status;
}

describe("bootstrap of the first administrator on the embedded database", () => {
  let dataDir: string;
  let server: SpawnedServer | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-cli-admin-"));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("users create --role admin makes an administrator; set-roles gives and takes roles, never the last admin's", { timeout: 180_000 }, async () => {
    const env = { DATA_DIR: dataDir, APP_URL };
    const adminEmail = newEmail();
    const created = await runCli("bun", ["users", "create", "--email", adminEmail, "--password-stdin", "--role", "admin"], env, 60_000, PASSWORD);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/ with roles admin,user\n$/);
    const other = newEmail();
    expect((await runCli("node", ["users", "create", "--email", other, "--password-stdin"], env, 60_000, PASSWORD)).code).toBe(0);
    const promoted = await runCli("node", ["users", "set-roles", other, "support"], env);
    expect(promoted.stdout).toBe(`${other} has roles support,user\n`);

    const last = await runCli("bun", ["users", "set-roles", adminEmail, "user"], env);
    expect(last.code).toBe(1);
    expect(last.stderr).toBe("servauth users set-roles: The change would leave no active administrator\n");

    server = await spawnServer({ runtime: "bun", dataDir, env: { APP_URL } });
    expect(await adminApiStatus(server, (await login(server, adminEmail)).accessToken)).toBe(200);
    expect(await adminApiStatus(server, (await login(server, other)).accessToken)).toBe(403);
  });
});

describe.skipIf(ADMIN_URL === undefined)("users commands on PostgreSQL, next to a running server", () => {
  let database: ScratchDatabase;
  let dataDir: string;
  let server: SpawnedServer | undefined;
  // The server and the CLI share the database, so they must share the secret its signing keys are sealed with.
  const AUTH_SECRET = randomBytes(32).toString("base64url");
  const env = () => ({ DATABASE_URL: database.url, APP_URL, AUTH_SECRET, DATA_DIR: dataDir });
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-cli-pg-"));
    database = await createScratchDatabase(ADMIN_URL ?? "", "servauth_cli");
    server = await spawnServer({ runtime: "bun", databaseUrl: database.url, env: { APP_URL, AUTH_SECRET, RATE_LIMIT_LOGIN_ACCOUNT: "3/900" } });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test("a user created by the CLI signs in; revoke-sessions reaches the running server at once", { timeout: 120_000 }, async () => {
    if (server === undefined) throw new Error("no server");
    const email = newEmail();
    const created = await runCli("node", ["users", "create", "--email", email, "--password-stdin"], env(), 60_000, PASSWORD);
    expect(created.code, created.stderr).toBe(0);

    const signedIn = await login(server, email);
    expect(signedIn.status).toBe(200);
    // Validated once, so the server holds the session in its cache: only the bus can make it forget.
    expect(await meStatus(server, signedIn.accessToken)).toBe(200);
    expect((await listUsers("bun", env())).find((user) => user.email === email)).toMatchObject({ activeSessions: 1 });

    const revoked = await runCli("bun", ["users", "revoke-sessions", email], env());
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked 1 session of ${email}\n`);
    let status = 0;
    for (const started = Date.now(); Date.now() - started < 2_000; await sleep(20)) {
      status = await meStatus(server, signedIn.accessToken);
      if (status === 401) break;
    }
    expect(status).toBe(401);

    const [rows] = await database.sql<{ count: number }[]>`select count(*)::int as count from audit_events where type = 'user.registered'`;
    expect(rows?.count).toBe(1);
  });

  test("set-roles admin on a signed-in user: the running server lets their existing token into the admin API at once", { timeout: 120_000 }, async () => {
    if (server === undefined) throw new Error("no server");
    const email = newEmail();
    const created = await runCli("bun", ["users", "create", "--email", email, "--password-stdin", "--role", "admin"], env(), 60_000, PASSWORD);
    expect(created.code, created.stderr).toBe(0);
    const second = newEmail();
    expect((await runCli("bun", ["users", "create", "--email", second, "--password-stdin"], env(), 60_000, PASSWORD)).code).toBe(0);
    const { accessToken } = await login(server, second);
    expect(await adminApiStatus(server, accessToken)).toBe(403);
    const promoted = await runCli("node", ["users", "set-roles", second, "admin"], env());
    expect(promoted.code, promoted.stderr).toBe(0);
    let status = 0;
    for (const started = Date.now(); Date.now() - started < 2_000; await sleep(20)) {
      status = await adminApiStatus(server, accessToken);
      if (status === 200) break;
    }
    expect(status).toBe(200);
  });

  test("unlock clears a locked account's counter in the shared store; the running server lets its owner in", { timeout: 120_000 }, async () => {
    if (server === undefined) throw new Error("no server");
    const email = newEmail();
    const created = await runCli("bun", ["users", "create", "--email", email, "--password-stdin"], env(), 60_000, PASSWORD);
    expect(created.code, created.stderr).toBe(0);
    // RATE_LIMIT_LOGIN_ACCOUNT=3/900: three failures, then even the right password is refused.
    for (let attempt = 0; attempt < 3; attempt++) expect((await login(server, email, "wrong password, surely")).status).toBe(401);
    expect((await login(server, email)).status).toBe(429);

    const unknown = await runCli("bun", ["users", "unlock", newEmail()], env());
    expect(unknown.code).toBe(1);
    expectOneErrorLine(unknown.stderr);

    const unlocked = await runCli("bun", ["users", "unlock", email], env());
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toBe(`unlocked ${email}\n`);
    expect((await login(server, email)).status).toBe(200);
    const events = await database.sql<{ type: string }[]>`
      select a.type from audit_events a join users u on u.id = a.user_id where u.email = ${email} order by a.created_at`;
    expect(events.map((event) => event.type)).toContain("account.unlocked");
  });
});
