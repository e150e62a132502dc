import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestApp, newAccount, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

const ALLOWED_APP = "https://app.example.com";
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ CORS_ORIGINS: ALLOWED_APP });
});
afterAll(async () => {
  await t.close();
});

describe("request bodies", () => {
  it("answers malformed JSON with 400 INVALID_JSON", async () => {
    const response = await t.request("POST", "/auth/login", '{"email": "a@example.com",');
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect((await response.json()).code).toBe("INVALID_JSON");
  });

  it("answers a non-JSON content type with 415", async () => {
    const response = await t.request("POST", "/auth/register", "email=a@example.com", { "content-type": "application/x-www-form-urlencoded" });
    expect(response.status).toBe(415);
    expect((await response.json()).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("answers a body without content type on a JSON route with 415", async () => {
    const response = await t.app.request("/auth/login", { method: "POST", body: new Blob(["{}"]) });
    expect(response.status).toBe(415);
  });

  it("answers a body over 64 KiB with 413, with or without Content-Length", async () => {
    const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(70 * 1024) });
    const declared = await t.request("POST", "/auth/login", big);
    expect(declared.status).toBe(413);
    expect((await declared.json()).code).toBe("PAYLOAD_TOO_LARGE");
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await t.app.request("/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it("answers an unknown route with a 404 problem", async () => {
    const response = await t.request("GET", "/auth/nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ code: "NOT_FOUND", status: 404 });
  });
});

describe("the guards in one layer", () => {
  it("keep their order (the body's size before its origin) and their refusals carry what every answer carries", async () => {
    const foreign = { origin: "https://evil.example" };
    const tooLarge = await t.request("POST", "/auth/login", JSON.stringify({ email: "a@example.com", password: "x".repeat(70 * 1024) }), foreign);
    expect(tooLarge.status).toBe(413);
    const refused = await t.request("POST", "/auth/login", { email: "a@example.com", password: "x" }, foreign);
    expect((await refused.json()).code).toBe("CSRF_REJECTED");
    for (const response of [tooLarge, refused]) {
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get("vary")).toBe("Origin");
    }
  });
});

describe("CSRF", () => {
  it("refuses a cookie-authenticated unsafe request from a foreign origin with 403 CSRF_REJECTED", async () => {
    const { cookies, accessToken } = await registerUser(t);
    const cookie = `servauth.session=${cookies["servauth.session"]}`;
    const foreign = await t.request("POST", "/auth/logout", undefined, { cookie, origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).code).toBe("CSRF_REJECTED");
    const crossSite = await t.request("POST", "/auth/logout", undefined, { cookie, "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    const noProvenance = await t.request("POST", "/auth/logout", undefined, { cookie });
    expect(noProvenance.status).toBe(403);
    // None of those ended the session.
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
  });

  /** @see issue 13, item 16 */
  it("says in the detail why it refused: the origin, cross-site fetch metadata, or no provenance at all", async () => {
    const { cookies } = await registerUser(t);
    const cookie = `servauth.session=${cookies["servauth.session"]}`;
    const detailOf = async (headers: Record<string, string>) => ((await (await t.request("POST", "/auth/logout", undefined, { cookie, ...headers })).json()) as { detail?: string }).detail;
    expect(await detailOf({ origin: "https://evil.example" })).toBe("The Origin https://evil.example is not allowed");
    expect(await detailOf({ "sec-fetch-site": "cross-site" })).toBe("A cookie-authenticated request must come from the same site; Sec-Fetch-Site was cross-site");
    expect(await detailOf({})).toBe("A request with a session cookie must carry an Origin header (or Sec-Fetch-Site: same-origin)");
  });

  it.each([
    ["the app's own origin", { origin: TEST_ORIGIN }],
    ["an origin from CORS_ORIGINS", { origin: ALLOWED_APP }],
    ["Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin" }],
  ])("accepts a cookie-authenticated unsafe request from %s", async (_name, headers) => {
    const { cookies } = await registerUser(t);
    const response = await t.request("POST", "/auth/logout", undefined, { cookie: `servauth.session=${cookies["servauth.session"]}`, ...headers });
    expect(response.status).toBe(204);
  });

  it("asks no provenance of bearer requests without cookies, but still refuses a foreign Origin", async () => {
    const { accessToken } = await registerUser(t);
    const foreign = await t.request("POST", "/auth/logout", undefined, { ...bearer(accessToken), origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect((await t.request("POST", "/auth/logout", undefined, bearer(accessToken))).status).toBe(204);
  });

  it("does not let a bogus bearer header excuse a cookie (refresh by cookie)", async () => {
    const { cookies } = await registerUser(t);
    const response = await t.request("POST", "/auth/refresh", undefined, {
      cookie: `servauth.refresh=${cookies["servauth.refresh"]}`,
      authorization: "Bearer x",
    });
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe("CSRF_REJECTED");
  });

  it("refuses login and register from a foreign origin (login CSRF) but not from a non-browser client", async () => {
    const { account } = await registerUser(t);
    const login = await t.request("POST", "/auth/login", account, { origin: "https://evil.example" });
    expect(login.status).toBe(403);
    const register = await t.request("POST", "/auth/register", newAccount(), { origin: "https://evil.example" });
    expect(register.status).toBe(403);
    expect((await t.request("POST", "/auth/login", account)).status).toBe(200);
  });
});

describe("CSRF on a loopback APP_URL", () => {
  /**
   * The /docs page opened at http://127.0.0.1:3000 while APP_URL is http://localhost:3000 (the default) sends its
   * "Try it out" requests with Origin http://127.0.0.1:3000: the same server under another loopback name.
   */
  it("accepts the other loopback names of APP_URL's origin, same scheme and port, and nothing wider", async () => {
    const { account } = await registerUser(t);
    for (const origin of ["http://127.0.0.1:3000", "http://[::1]:3000"]) {
      const response = await t.request("POST", "/auth/login", account, { origin, "sec-fetch-site": "same-origin" });
      expect(response.status, origin).toBe(200);
    }
    for (const origin of ["http://127.0.0.1:3001", "https://127.0.0.1:3000", "http://127.0.0.2:3000", "http://rebound.example:3000"]) {
      const response = await t.request("POST", "/auth/login", account, { origin, "sec-fetch-site": "same-origin" });
      expect(response.status, origin).toBe(403);
      expect((await response.json()).code).toBe("CSRF_REJECTED");
    }
  });

  it("allows no loopback origin when APP_URL is not a loopback one", async () => {
    const remote = await createTestApp({ APP_URL: "https://auth.example.com" });
    try {
      const { account } = await registerUser(remote);
      const response = await remote.request("POST", "/auth/login", account, { origin: "http://127.0.0.1:3000" });
      expect(response.status).toBe(403);
    } finally {
      await remote.close();
    }
  });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin with credentials allowed", async () => {
    const response = await t.request("OPTIONS", "/auth/login", undefined, {
      origin: ALLOWED_APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED_APP);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("gives a disallowed origin no CORS headers at all", async () => {
    const preflight = await t.request("OPTIONS", "/auth/login", undefined, {
      origin: "https://evil.example",
      "access-control-request-method": "POST",
    });
    const simple = await t.request("GET", "/health", undefined, { origin: "https://evil.example" });
    for (const response of [preflight, simple]) {
      const corsHeaders = [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
      expect(corsHeaders).toEqual([]);
    }
  });

  it("says every answer varies by Origin, once, keeping what a preflight adds", async () => {
    const withoutOrigin = await t.request("GET", "/health");
    const allowed = await t.request("GET", "/health", undefined, { origin: ALLOWED_APP });
    const foreign = await t.request("GET", "/auth/me", undefined, { origin: "https://evil.example" });
    const foreignPreflight = await t.request("OPTIONS", "/auth/login", undefined, { origin: "https://evil.example", "access-control-request-method": "POST" });
    for (const response of [withoutOrigin, allowed, foreign, foreignPreflight]) expect(response.headers.get("vary")).toBe("Origin");
    const preflight = await t.request("OPTIONS", "/auth/login", undefined, {
      origin: ALLOWED_APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(preflight.headers.get("vary")?.split(/\s*,\s*/).sort()).toEqual(["Access-Control-Request-Headers", "Origin"]);
  });

  it("exposes X-Request-Id to an allowed origin on a real request", async () => {
    const response = await t.request("GET", "/health", undefined, { origin: ALLOWED_APP });
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED_APP);
    expect(response.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
  });
});

describe("response headers", () => {
  it("sets secure headers and no-store on auth answers", async () => {
    const response = await t.request("POST", "/auth/login", { email: "a@example.com", password: "whatever" });
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const echoed = await t.request("GET", "/auth/nope", undefined, { "x-request-id": "trace-123" });
    expect(echoed.headers.get("x-request-id")).toBe("trace-123");
    expect((await echoed.json()).requestId).toBe("trace-123");
    const replaced = await t.request("GET", "/health", undefined, { "x-request-id": "bad id\twith <stuff>" });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
