import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import type { AppEnv } from "../../src/http/app-env.ts";
import { requestAdmission } from "../../src/http/middleware/request-admission.ts";
import { requestEnvelope } from "../../src/http/middleware/request-envelope.ts";
import { createErrorHandler } from "../../src/http/on-error.ts";
import { createRouter } from "../../src/http/router.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createApiKey } from "../support/api-keys.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_CLIENT_IP, type TestApp } from "../support/test-app.ts";

/**
 * The client's address is read from the connection only when something needs it (on Bun each read is a system
 * call): never for an authenticated read, as a request that can change state comes in, and for a request without
 * credentials by its per-address limit. The reader here behaves as Bun's and Node's do (tests/e2e/client-address
 * checks them): the address, until the client hangs up; nothing after.
 */
let t: TestApp;
let reads = 0;
const readSocketAddress = (c: Context) => {
  reads++;
  return c.req.raw.signal.aborted ? null : TEST_CLIENT_IP;
};
let user: Awaited<ReturnType<typeof registerUser>>;

beforeAll(async () => {
  t = await createTestApp({}, { readSocketAddress });
  user = await registerUser(t);
});
afterAll(() => t.close());
beforeEach(() => {
  reads = 0;
});

/** A request from a client that hung up before it was served. */
function fromGoneClient(method: string, path: string, init: RequestInit = {}) {
  const hungUp = new AbortController();
  hungUp.abort();
  return t.app.request(path, { method, ...init, signal: hungUp.signal });
}

describe("the client address", () => {
  it("is never read for an authenticated read: a bearer token, the session cookie, an API key", async () => {
    const { key } = await createApiKey(t, user.accessToken);
    reads = 0;
    const presented = [bearer(user.accessToken), { cookie: `servauth.session=${user.cookies["servauth.session"]}` }, bearer(key)];
    for (const headers of presented) expect((await t.request("GET", "/auth/me", undefined, headers)).status).toBe(200);
    expect((await t.request("GET", "/health")).status).toBe(200);
    expect(reads).toBe(0);
  });

  it("is read once for a request that changes state, and recorded", async () => {
    const response = await t.request("POST", "/auth/login", { email: user.account.email, password: "not the password" });
    expect(response.status).toBe(401);
    expect(reads).toBe(1);
    const [failed] = await t.db.select().from(auditEvents).where(eq(auditEvents.type, "login.failed"));
    expect(failed?.ipAddress).toBe(TEST_CLIENT_IP);
  });

  it("is read for a request without credentials, by its per-address limit", async () => {
    expect((await t.request("GET", "/auth/oauth/providers")).status).toBe(200);
    expect(reads).toBe(1);
  });

  it("refuses a request that changes state from a client gone before it was served, before any work", async () => {
    const account = newAccount();
    const response = await fromGoneClient("POST", "/auth/register", { headers: { "content-type": "application/json" }, body: JSON.stringify(account) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "CLIENT_CLOSED_REQUEST" });
    expect((await t.request("POST", "/auth/login", account)).status).toBe(401);
    const { accessToken } = await registerUser(t);
    const logout = await fromGoneClient("POST", "/auth/logout", { headers: bearer(accessToken) });
    expect(await logout.json()).toMatchObject({ code: "CLIENT_CLOSED_REQUEST" });
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  it("refuses a read that first needs the address after the client hung up, rather than skip its per-address count", async () => {
    // A presented token that fails is counted against the address (authenticate), which is gone by then.
    const forged = await fromGoneClient("GET", "/auth/me", { headers: bearer(`${user.accessToken.slice(0, -4)}AAAA`) });
    expect(await forged.json()).toMatchObject({ code: "CLIENT_CLOSED_REQUEST" });
    const anonymous = await fromGoneClient("GET", "/auth/oauth/providers");
    expect(await anonymous.json()).toMatchObject({ code: "CLIENT_CLOSED_REQUEST" });
  });

  it("records a limit's refusal of a client gone meanwhile, without its address, rather than lose the event", async () => {
    const limited = await createTestApp({ RATE_LIMIT_AUTHENTICATED_SESSION: "1/60" }, { readSocketAddress });
    try {
      const { accessToken, user: owner } = await registerUser(limited);
      const gone = new AbortController();
      gone.abort();
      const me = () => limited.app.request("/auth/me", { headers: bearer(accessToken), signal: gone.signal });
      expect((await me()).status).toBe(200);
      const refused = await me();
      expect(await refused.json()).toMatchObject({ code: "RATE_LIMITED" });
      const [exceeded] = await limited.db.select().from(auditEvents).where(eq(auditEvents.type, "rate_limit.exceeded"));
      expect(exceeded).toMatchObject({ userId: owner.id, ipAddress: null, payload: { rule: "authenticatedSession" } });
    } finally {
      await limited.close();
    }
  });

  it("serves a read that never needs the address, whether or not the client is still there", async () => {
    expect((await fromGoneClient("GET", "/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
  });
});

describe("request admission", () => {
  /** The global layers only, and routes that find their client gone by the time they ask for its address. */
  function appAskingLate() {
    const app = createRouter();
    const logger = createLogger({ level: "silent" });
    app.use(requestEnvelope({ trustProxy: 0, readSocketAddress, logger, metrics: null }));
    app.use(requestAdmission({ isBlocked: null, deadlineMs: 5_000 }));
    const hangUp = new AbortController();
    const askLate = (c: Context<AppEnv>) => {
      hangUp.abort();
      return c.json({ ip: c.get("client").ip });
    };
    app.post("/late", askLate);
    app.get("/late", askLate);
    app.onError(createErrorHandler(logger));
    return { request: (method: string) => app.request("/late", { method, signal: hangUp.signal }) };
  }

  it("reads the address of a request that can change state as it comes in, so the work never stops part-way", async () => {
    const response = await appAskingLate().request("POST");
    expect(await response.json()).toEqual({ ip: TEST_CLIENT_IP });
  });

  it("leaves a safe request's address for whoever needs it: asked after the hang-up, it is refused", async () => {
    const response = await appAskingLate().request("GET");
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "CLIENT_CLOSED_REQUEST" });
  });
});
