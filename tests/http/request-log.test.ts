import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { bearer, createTestApp, parseSetCookies, TEST_CLIENT_IP, type TestApp } from "../support/test-app.ts";

/** Everything the app logs, as pino wrote it (pino writes synchronously to a plain object stream). */
const written: string[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({}, { logger: createLogger({ level: "info", destination: { write: (line) => void written.push(line) } }) });
});
afterAll(async () => {
  await t.close();
});

type Line = Record<string, unknown>;
type Expected = { method: string; route: string; status: number; userId?: string };

const PASSWORD = "correct horse battery staple";
const WRONG_PASSWORD = "Tr0ub4dor&3 not mine";

describe("request logs over a full flow", () => {
  const secrets: string[] = [PASSWORD, WRONG_PASSWORD];
  const expectations: Array<{ requestId: string; expected: Expected }> = [];

  /** Sends a request and remembers what its log line must say; records every secret the server handed out. */
  async function send(expected: Expected, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await t.request(method, path, body, headers);
    expect(response.status, `${method} ${path}`).toBe(expected.status);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    expectations.push({ requestId: requestId ?? "", expected });
    const cookies = parseSetCookies(response);
    secrets.push(...Object.values(cookies).filter(Boolean));
    const text = await response.text();
    const json = response.headers.get("content-type")?.startsWith("application/json") && text !== "";
    const parsed = (json ? JSON.parse(text) : {}) as Partial<{ accessToken: string; refreshToken: string; user: { id: string } }> & {
      sessions?: Array<{ id: string; current: boolean }>;
    };
    for (const secret of [parsed.accessToken, parsed.refreshToken]) if (secret !== undefined) secrets.push(secret);
    return { ...parsed, cookies };
  }

  it("writes one JSON line per request with its id, method, route pattern, status, duration, user and client IP", async () => {
    const email = `log-${Date.now().toString(36)}@example.com`;
    const registered = await send({ method: "POST", route: "/auth/register", status: 201 }, "POST", "/auth/register", { email, password: PASSWORD });
    const userId = registered.user?.id;
    const loggedIn = await send({ method: "POST", route: "/auth/login", status: 200 }, "POST", "/auth/login", { email, password: PASSWORD });
    const access = loggedIn.accessToken ?? "";
    await send({ method: "GET", route: "/auth/me", status: 200, userId }, "GET", "/auth/me", undefined, bearer(access));
    await send({ method: "GET", route: "/auth/me", status: 200, userId }, "GET", "/auth/me", undefined, {
      cookie: `servauth.session=${loggedIn.cookies["servauth.session"]}`,
    });
    const refreshed = await send({ method: "POST", route: "/auth/refresh", status: 200 }, "POST", "/auth/refresh", {
      refreshToken: loggedIn.refreshToken,
    });
    // The registration's session, ended by id from the login's: the route is the pattern, not the id.
    const listing = await send({ method: "GET", route: "/auth/sessions", status: 200, userId }, "GET", "/auth/sessions", undefined, bearer(access));
    const other = listing.sessions?.find((session) => !session.current);
    expect(other).toBeDefined();
    await send({ method: "DELETE", route: "/auth/sessions/:id", status: 204, userId }, "DELETE", `/auth/sessions/${other?.id}`, undefined, bearer(access));
    await send({ method: "POST", route: "/auth/logout", status: 204, userId }, "POST", "/auth/logout", undefined, bearer(refreshed.accessToken ?? ""));
    await send({ method: "POST", route: "/auth/login", status: 401 }, "POST", "/auth/login", { email, password: WRONG_PASSWORD });
    // A cookie-borne refresh from a foreign origin: refused by the CSRF check before any handler runs.
    await send({ method: "POST", route: "/auth/refresh", status: 403 }, "POST", "/auth/refresh", undefined, {
      cookie: `servauth.refresh=${registered.refreshToken}`,
      origin: "https://evil.example",
    });
    // No route: the line names the catch-all pattern, never the raw path or query (which carry secrets here).
    await send({ method: "GET", route: "/*", status: 404 }, "GET", `/no/such/${registered.refreshToken}?token=${access}`);

    const lines = written.map((line) => JSON.parse(line) as Line);
    const requestLines = lines.filter((line) => line.msg === "request");
    expect(requestLines).toHaveLength(expectations.length);
    for (const { requestId, expected } of expectations) {
      const line = requestLines.find((candidate) => candidate.requestId === requestId);
      expect(line, `${expected.method} ${expected.route}`).toMatchObject({
        level: expected.status >= 500 ? 50 : 30,
        method: expected.method,
        route: expected.route,
        status: expected.status,
        clientIp: TEST_CLIENT_IP,
      });
      expect(line?.durationMs).toEqual(expect.any(Number));
      expect(line?.userId).toBe(expected.userId);
    }
  });

  it("never contains a password, token or cookie value used in the flow", () => {
    const log = written.join("");
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    for (const secret of new Set(secrets)) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(log.includes(secret), `a secret (${secret.slice(0, 4)}...) is in the log`).toBe(false);
    }
    expect(log).not.toMatch(/authorization|cookie|Bearer /i);
  });
});
