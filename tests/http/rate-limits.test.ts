import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { createRedisRateLimitStore } from "../../src/abuse/rate-limit-store-redis.ts";
import type { PasswordHasher } from "../../src/auth/password.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { createTestApp, fastHasher, newAccount, registerUser, type TestApp, type TestAppOptions } from "../support/test-app.ts";

const apps: TestApp[] = [];
async function appWith(env: Record<string, string>, options: TestAppOptions = {}) {
  const app = await createTestApp(env, options);
  apps.push(app);
  return app;
}
// Closed after each test, not at the end of the file: on PostgreSQL each app holds a pool, and sixteen of them
// open at once ran the server out of connections.
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A hasher that counts verifies: locked-out attempts must cost no argon2 work. */
function countingHasher(): PasswordHasher & { verifies: number } {
  const counting = {
    verifies: 0,
    hash: (password: string) => fastHasher.hash(password),
    verify: (hash: string, password: string) => {
      counting.verifies += 1;
      return fastHasher.verify(hash, password);
    },
  };
  return counting;
}

const wrongLogin = (app: TestApp, email: string, headers: Record<string, string> = {}) =>
  app.request("POST", "/auth/login", { email, password: "definitely wrong" }, headers);

describe("per-account login limit", () => {
  it("refuses the 11th attempt with 429 RATE_LIMITED and Retry-After, without verifying the password", async () => {
    const hasher = countingHasher();
    const app = await appWith({ RATE_LIMIT_LOGIN_ACCOUNT: "10/900" }, { hasher });
    const { account } = await registerUser(app);
    for (let i = 0; i < 10; i++) {
      const response = await wrongLogin(app, account.email);
      expect(response.status).toBe(401);
      // Keyed by the account's address: its remaining count would tell anyone how much others have tried on it.
      expect(response.headers.get("ratelimit")).toBeNull();
    }
    const verifiesBefore = hasher.verifies;
    for (const password of ["definitely wrong", account.password]) {
      const locked = await app.request("POST", "/auth/login", { email: account.email, password });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(locked.headers.get("content-type")).toBe("application/problem+json");
      expect((await locked.json()).code).toBe("RATE_LIMITED");
    }
    expect(hasher.verifies).toBe(verifiesBefore);
    // The owner can still reset the password.
    expect((await app.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    const locks = await app.db.select().from(auditEvents).where(eq(auditEvents.type, "account.locked"));
    expect(locks).toHaveLength(1);
  });

  it("forgets the failures after a successful login", async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_ACCOUNT: "3/900" });
    const { account } = await registerUser(app);
    for (let round = 0; round < 3; round++) {
      await wrongLogin(app, account.email);
      await wrongLogin(app, account.email);
      expect((await app.request("POST", "/auth/login", account)).status).toBe(200);
    }
  });

  it("lets exactly the limit through when 200 attempts arrive at once", async () => {
    const hasher = countingHasher();
    const app = await appWith({ RATE_LIMIT_LOGIN_ACCOUNT: "10/900" }, { hasher });
    const { account } = await registerUser(app);
    const before = hasher.verifies;
    const statuses = (await Promise.all(Array.from({ length: 200 }, () => wrongLogin(app, account.email)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);
    expect(hasher.verifies - before).toBe(10);
  });
});

describe("client IP", () => {
  it("ignores a forged X-Forwarded-For when TRUST_PROXY=0: 20 forged values share one bucket", async () => {
    const app = await appWith({ RATE_LIMIT_REGISTER_IP: "5/3600" });
    const statuses = [];
    for (let i = 0; i < 20; i++) {
      const response = await app.request("POST", "/auth/register", newAccount(), { "x-forwarded-for": `198.51.100.${i}` });
      statuses.push(response.status);
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it("reads the client from X-Forwarded-For behind TRUST_PROXY=1: different clients, different buckets", async () => {
    const app = await appWith({ RATE_LIMIT_REGISTER_IP: "1/3600", TRUST_PROXY: "1" });
    for (let i = 0; i < 5; i++) {
      const response = await app.request("POST", "/auth/register", newAccount(), { "x-forwarded-for": `198.51.100.${i}` });
      expect(response.status).toBe(201);
    }
    const again = await app.request("POST", "/auth/register", newAccount(), { "x-forwarded-for": "6.6.6.6, 198.51.100.0" });
    expect(again.status).toBe(429);
  });
});

describe("credential stuffing", () => {
  it("throttles one address failing against many distinct accounts", async () => {
    const app = await appWith({ RATE_LIMIT_STUFFING_IP: "5/900" });
    for (let i = 0; i < 5; i++) expect((await wrongLogin(app, newAccount().email)).status).toBe(401);
    // The same account again does not count as another account...
    const registered = await registerUser(app);
    const refused = await app.request("POST", "/auth/login", registered.account);
    expect(refused.status).toBe(429);
    expect((await refused.json()).code).toBe("RATE_LIMITED");
  });

  it("counts distinct accounts, not attempts", async () => {
    const app = await appWith({ RATE_LIMIT_STUFFING_IP: "3/900" });
    const { account } = await registerUser(app);
    for (let i = 0; i < 6; i++) expect((await wrongLogin(app, account.email)).status).toBe(401);
    expect((await app.request("POST", "/auth/login", account)).status).toBe(200);
  });
});

describe("BLOCKLIST_CIDRS", () => {
  it("answers 403 IP_BLOCKED for IPv4 and IPv6 addresses in the list, before anything else", async () => {
    const app = await appWith({ BLOCKLIST_CIDRS: "203.0.113.0/24, 2001:db8::/32", TRUST_PROXY: "1" });
    for (const address of ["203.0.113.7", "2001:db8::1", "::ffff:203.0.113.9"]) {
      const response = await app.request("POST", "/auth/login", { email: "a@example.com", password: "whatever1" }, { "x-forwarded-for": address });
      expect(response.status).toBe(403);
      expect((await response.json()).code).toBe("IP_BLOCKED");
    }
    const allowed = await app.request("GET", "/health", undefined, { "x-forwarded-for": "198.51.100.1" });
    expect(allowed.status).toBe(200);
  });
});

describe("when the rate-limit store is down", () => {
  it("fails closed for login (503 with Retry-After) and open for public reads", async () => {
    const store = createRedisRateLimitStore("redis://127.0.0.1:1");
    const app = await appWith({ RATE_LIMIT_LOGIN_IP: "100/900", RATE_LIMIT_UNAUTHENTICATED_IP: "300/60" }, { rateLimitStore: store });
    const login = await app.request("POST", "/auth/login", { email: "a@example.com", password: "whatever1" });
    expect(login.status).toBe(503);
    expect(login.headers.get("retry-after")).toBe("5");
    expect((await login.json()).code).toBe("DEPENDENCY_UNAVAILABLE");
    expect((await app.request("GET", "/.well-known/jwks.json")).status).toBe(200);
  });
});

describe("other rules", () => {
  it("limits forgot-password per address, whether or not the account exists", async () => {
    const app = await appWith({ RATE_LIMIT_FORGOT_PASSWORD_EMAIL: "2/900" });
    const email = newAccount().email;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.request("POST", "/auth/forgot-password", { email })).status);
    expect(statuses).toEqual([202, 202, 429]);
  });

  it("limits refreshes per session", async () => {
    const app = await appWith({ RATE_LIMIT_REFRESH_SESSION: "2/60" });
    let { refreshToken } = await registerUser(app);
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const response = await app.request("POST", "/auth/refresh", { refreshToken });
      statuses.push(response.status);
      if (response.status === 200) refreshToken = (await response.json()).refreshToken;
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("limits unauthenticated requests per IP but not authenticated reads", async () => {
    const app = await appWith({ RATE_LIMIT_UNAUTHENTICATED_IP: "3/60" });
    const { accessToken } = await registerUser(app); // 1
    expect((await app.request("GET", "/.well-known/jwks.json")).status).toBe(200); // 2
    expect((await app.request("GET", "/.well-known/jwks.json")).status).toBe(200); // 3
    expect((await app.request("GET", "/.well-known/jwks.json")).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      expect((await app.request("GET", "/auth/me", undefined, { authorization: `Bearer ${accessToken}` })).status).toBe(200);
    }
    expect((await app.request("GET", "/health")).status).toBe(200);
  });

  it("counts requests whose credentials fail towards the per-IP limit: junk tokens buy no unlimited 401s", async () => {
    const app = await appWith({ RATE_LIMIT_UNAUTHENTICATED_IP: "3/60" });
    const statuses: number[] = [];
    for (const authorization of ["Bearer junk", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer junk"]) {
      statuses.push((await app.request("GET", "/auth/me", undefined, { authorization })).status);
    }
    statuses.push((await app.request("GET", "/auth/sessions", undefined, { cookie: "servauth.session=forged" })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("records a refused window once in the audit log, however many refusals follow", async () => {
    const app = await appWith({ RATE_LIMIT_REGISTER_IP: "1/3600" });
    for (let i = 0; i < 4; i++) await app.request("POST", "/auth/register", newAccount());
    const events = await app.db.select().from(auditEvents).where(and(eq(auditEvents.type, "rate_limit.exceeded")));
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toEqual({ rule: "registerIp" });
  });
});

/** @see issue 13, item 16 */
describe("a 429's detail", () => {
  const detailOf = async (response: Response) => {
    expect(response.status).toBe(429);
    return ((await response.json()) as { detail?: string }).detail ?? "";
  };

  it("names the rule and its limit for a rule keyed by the client's IP address", async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_IP: "2/900" });
    for (let i = 0; i < 2; i++) expect((await wrongLogin(app, `nobody${i}@example.com`)).status).toBe(401);
    expect(await detailOf(await wrongLogin(app, "nobody@example.com"))).toMatch(
      /^Too many sign-in attempts from this IP address \(at most 2 per 15 minutes\); try again in \d+ seconds?$/,
    );
  });

  it("names the rule but no count for a rule keyed by an email address (that would tell how much others tried on it)", async () => {
    const app = await appWith({ RATE_LIMIT_LOGIN_ACCOUNT: "3/900" });
    const { account } = await registerUser(app);
    for (let i = 0; i < 3; i++) expect((await wrongLogin(app, account.email)).status).toBe(401);
    const detail = await detailOf(await wrongLogin(app, account.email));
    expect(detail).toMatch(/^Too many sign-in attempts for this email address; try again in \d+ seconds?$/);
    expect(detail.split(";")[0]).not.toMatch(/\d/);
  });
});
