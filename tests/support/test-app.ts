import { RULE_NAMES, ruleVariable } from "../../src/abuse/rules.ts";
import type { RateLimitStore } from "../../src/abuse/rate-limit-store.ts";
import { createArgon2Hasher, type PasswordHasher } from "../../src/auth/password.ts";
import type { PublicUser } from "../../src/auth/users.ts";
import { buildConfig } from "../../src/config/config.ts";
import { parseEnv } from "../../src/config/env.ts";
import { createApp } from "../../src/http/app.ts";
import type { SocketAddressReader } from "../../src/http/middleware/client-ip.ts";
import { createLogger, type Logger } from "../../src/observability/logger.ts";
import type { Mailer } from "../../src/delivery/mailer.ts";
import { createMemoryMailer } from "../../src/delivery/memory-mailer.ts";
import { createServices, type Services } from "../../src/services.ts";
import { createRevocationBus } from "../../src/sessions/create-bus.ts";
import { openTestDatabase, type TestDatabaseKind } from "./test-database.ts";

/** argon2id with toy parameters: the same code path and hash format as production, in a millisecond. */
export const fastHasher = createArgon2Hasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });

export const TEST_ORIGIN = "http://localhost:3000";
export const TEST_AUTH_SECRET = "test-secret-test-secret-test-secret-0123";
/** The peer address app.request() connections appear to come from (TEST-NET-1). */
export const TEST_CLIENT_IP = "192.0.2.10";

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** createApp over a fresh migrated database (PGlite in memory, or real PostgreSQL in the postgres tier). */
export type TestAppOptions = {
  mailer?: Mailer;
  logger?: Logger;
  hasher?: PasswordHasher;
  rateLimitStore?: RateLimitStore;
  now?: () => Date;
  /** The project's kind of database unless a test is about one. */
  database?: TestDatabaseKind;
  /** Where requests appear to come from: TEST_CLIENT_IP unless a test is about reading it. */
  readSocketAddress?: SocketAddressReader;
};

export async function createTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}) {
  const testDb = await openTestDatabase(options.database);
  const database = testDb.handle;
  const config = {
    ...buildConfig(
      parseEnv({ NODE_ENV: "test", APP_URL: TEST_ORIGIN, LOG_LEVEL: "silent", ...RATE_LIMITS_OFF, ...redisTier(), ...env }),
      TEST_AUTH_SECRET,
    ),
    database: testDb.config,
  };
  // Silent unless a test passes a logger to capture what the app logs.
  const logger = options.logger ?? createLogger({ level: "silent" });
  const bus = await createRevocationBus(config, logger);
  const memoryMailer = createMemoryMailer();
  const mailer = options.mailer ?? memoryMailer;
  const services: Services = await createServices({
    config,
    database,
    bus,
    hasher: options.hasher ?? fastHasher,
    logger,
    mailer,
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
    ...(options.now ? { now: options.now } : {}),
    mailRetry: { attempts: 3, firstRetryDelayMs: 20 },
  });
  const app = createApp(services, { readSocketAddress: options.readSocketAddress ?? (() => TEST_CLIENT_IP) });

  return {
    app,
    services,
    db: database.db,
    /** A JSON request; pass `headers` to add or override. */
    request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const init: RequestInit = { method, headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers } };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      return app.request(path, init);
    },
    /** What the default in-memory mailer was given (empty when a mailer was passed in). */
    sentMail: memoryMailer.sent,
    async close() {
      await services.close();
      await bus.close();
      await testDb.close();
    },
  };
}

/**
 * Functional tests register and sign in hundreds of times from one address; the rate limits are off unless a
 * test turns a rule on (tests/http/rate-limits.test.ts).
 */
const RATE_LIMITS_OFF = Object.fromEntries(RULE_NAMES.map((name) => [ruleVariable(name), "off"]));

/** In the http-redis tier, revocations travel over the Redis named by TEST_REDIS_URL. */
function redisTier(): Record<string, string> {
  const url = process.env.TEST_REDIS_URL;
  // Rate-limit counters stay in the test's own database: one Redis shared by every test file would mix their counts.
  return process.env.SERVAUTH_TEST_REDIS === "1" && url ? { REDIS_URL: url, RATE_LIMIT_STORE: "postgres" } : {};
}

let counter = 0;
/** A fresh, valid registration body. */
export function newAccount(overrides: Partial<{ email: string; password: string; username: string }> = {}) {
  counter += 1;
  const suffix = `${Date.now().toString(36)}${counter}`;
  return { email: `user${suffix}@example.com`, password: "correct horse battery staple", ...overrides };
}

/** Registers an account and returns what the client got back. */
export async function registerUser(testApp: TestApp, overrides: Parameters<typeof newAccount>[0] = {}) {
  const account = newAccount(overrides);
  const response = await testApp.request("POST", "/auth/register", account);
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as {
    user: PublicUser;
    accessToken: string;
    refreshToken: string;
  };
  return { ...body, account, cookies: parseSetCookies(response) };
}

/** name -> value of the cookies a response sets ("" for a cleared one). */
export function parseSetCookies(response: Response): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(";");
    const index = pair?.indexOf("=") ?? -1;
    if (pair !== undefined && index > 0) cookies[pair.slice(0, index)] = pair.slice(index + 1);
  }
  return cookies;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
