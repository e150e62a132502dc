import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetricsApp } from "../../src/http/routes/metrics.ts";
import { createLogger } from "../../src/observability/logger.ts";
import type { MetricFamily } from "../../src/observability/metric-family.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { bearer, createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";

type Sample = { name: string; labels: Record<string, string>; value: number };

/**
 * A strict reading of the Prometheus text format (0.0.4): every line is a # HELP / # TYPE comment or a sample
 * `name{label="value",...} number`; a sample of a family declared by # TYPE. Throws on anything else.
 */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment !== null) {
      if (comment[1] === "TYPE") {
        expect(comment[3]).toMatch(/^(counter|gauge|histogram|summary|untyped)$/);
        families.add(comment[2] ?? "");
      }
      continue;
    }
    // prom-client writes NaN as "Nan"; Prometheus reads it (Go's ParseFloat takes NaN in any case).
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([Nn]a[Nn]|[+-]Inf|-?[0-9.]+(?:e[+-]?[0-9]+)?)$/.exec(line);
    if (sample === null) throw new Error(`not a valid exposition line: ${line}`);
    const [, name = "", rawLabels = "", value = ""] = sample;
    const labels: Record<string, string> = {};
    for (const pair of rawLabels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[pair[1] ?? ""] = pair[2] ?? "";
    const family = name.replace(/_(bucket|sum|count)$/, "");
    if (!families.has(name) && !families.has(family)) throw new Error(`sample ${name} has no # TYPE`);
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function scrape(app: { request(path: string): Response | Promise<Response> } = t.app): Promise<Sample[]> {
  const response = await app.request("/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

/** The value of the one sample with this name whose labels include `labels`; 0 when there is none yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  expect(matching.length).toBeLessThanOrEqual(1);
  return matching[0]?.value ?? 0;
}

describe("GET /metrics", () => {
  it("answers the Prometheus text format with the process, event-loop, pool and bus metrics", async () => {
    const samples = await scrape();
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of ["nodejs_eventloop_lag_seconds", "process_cpu_seconds_total", "servauth_active_sessions", "servauth_revocation_bus_connected"]) {
      expect(names, name).toContain(name);
    }
    const poolSize = t.services.database.kind === "postgres" ? 10 : 1;
    expect(valueOf(samples, "servauth_db_pool_max_connections")).toBe(poolSize);
    expect(valueOf(samples, "servauth_revocation_bus_connected")).toBe(1);
  });

  it("counts requests by route pattern, method and status, with a duration histogram", async () => {
    const { accessToken } = await registerUser(t);
    const labels = { method: "GET", route: "/auth/me", status: "200" };
    const before = await scrape();
    await t.request("GET", "/auth/me", undefined, bearer(accessToken));
    await t.request("GET", "/auth/me", undefined, bearer(accessToken));
    await t.request("GET", "/auth/sessions/00000000-0000-4000-8000-000000000000", undefined, bearer(accessToken));
    const after = await scrape();
    expect(valueOf(after, "servauth_http_requests_total", labels) - valueOf(before, "servauth_http_requests_total", labels)).toBe(2);
    expect(valueOf(after, "servauth_http_request_duration_seconds_count", labels)).toBe(valueOf(after, "servauth_http_requests_total", labels));
    expect(valueOf(after, "servauth_http_request_duration_seconds_bucket", { ...labels, le: "+Inf" })).toBe(
      valueOf(after, "servauth_http_requests_total", labels),
    );
    // Ids never become label values: the pattern does.
    const routes = new Set(after.filter((sample) => sample.name === "servauth_http_requests_total").map((sample) => sample.labels.route));
    expect([...routes].some((route) => route?.includes("00000000"))).toBe(false);
  });

  it("counts security events from the audit log: a failed login, a successful one", async () => {
    const { account } = await registerUser(t);
    const before = await scrape();
    await t.request("POST", "/auth/login", { email: account.email, password: "not the password" });
    await t.request("POST", "/auth/login", { email: account.email, password: account.password });
    const after = await scrape();
    const delta = (type: string) =>
      valueOf(after, "servauth_security_events_total", { type }) - valueOf(before, "servauth_security_events_total", { type });
    expect(delta("login.failed")).toBe(1);
    expect(delta("login.succeeded")).toBe(1);
  });

  it("counts a refresh-token reuse as a security event", async () => {
    // No grace window: the second use of a refresh token is a reuse at once, not a retried request.
    const strict = await createTestApp({ REFRESH_GRACE_SECONDS: "0" });
    try {
      const { refreshToken } = await registerUser(strict);
      expect((await strict.request("POST", "/auth/refresh", { refreshToken })).status).toBe(200);
      expect((await strict.request("POST", "/auth/refresh", { refreshToken })).status).toBe(401);
      const samples = await scrape(strict.app);
      expect(valueOf(samples, "servauth_security_events_total", { type: "token.refreshed" })).toBe(1);
      expect(valueOf(samples, "servauth_security_events_total", { type: "token.refresh_reused" })).toBe(1);
      expect(valueOf(samples, "servauth_security_events_total", { type: "user.registered" })).toBe(1);
    } finally {
      await strict.close();
    }
  });

  it("gauges the sessions that have not expired, counted at scrape time", async () => {
    const before = valueOf(await scrape(), "servauth_active_sessions");
    const { accessToken } = await registerUser(t);
    expect(valueOf(await scrape(), "servauth_active_sessions")).toBe(before + 1);
    expect((await t.request("POST", "/auth/logout", undefined, bearer(accessToken))).status).toBe(204);
    expect(valueOf(await scrape(), "servauth_active_sessions")).toBe(before);
  });

  it("is described in the OpenAPI document", async () => {
    const document = await (await t.request("GET", "/openapi.json")).json();
    expect(document.paths["/metrics"]?.get).toBeDefined();
  });
});

describe("rate-limit rejections", () => {
  it("show as 429s by route, and the first of each window as a rate_limit.exceeded security event", async () => {
    const limited = await createTestApp({ RATE_LIMIT_REGISTER_IP: "1/600" });
    try {
      await registerUser(limited);
      for (let attempt = 0; attempt < 2; attempt += 1) {
        expect((await limited.request("POST", "/auth/register", newAccount())).status).toBe(429);
      }
      const samples = await scrape(limited.app);
      expect(valueOf(samples, "servauth_http_requests_total", { method: "POST", route: "/auth/register", status: "429" })).toBe(2);
      expect(valueOf(samples, "servauth_security_events_total", { type: "rate_limit.exceeded" })).toBe(1);
    } finally {
      await limited.close();
    }
  });
});

describe("a scrape while the database is down", () => {
  it("still answers, with the active sessions unknown (NaN) rather than zero", async () => {
    const broken = await createTestApp();
    try {
      await broken.services.database.close();
      const samples = await scrape(broken.app);
      expect(valueOf(samples, "servauth_active_sessions")).toBeNaN();
      expect(valueOf(samples, "servauth_db_pool_max_connections")).toBeGreaterThan(0);
    } finally {
      await broken.close();
    }
  });
});

describe("METRICS_ENABLED=false", () => {
  it("answers /metrics with 404 and leaves it out of the API description", async () => {
    const off = await createTestApp({ METRICS_ENABLED: "false" });
    try {
      const response = await off.request("GET", "/metrics");
      expect(response.status).toBe(404);
      expect((await response.json()).code).toBe("NOT_FOUND");
      const document = await (await off.request("GET", "/openapi.json")).json();
      expect(document.paths["/metrics"]).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe("METRICS_PORT", () => {
  it("moves /metrics off the main app onto an app of its own that serves nothing else", async () => {
    const split = await createTestApp({ METRICS_PORT: "9464" });
    try {
      expect(split.services.config.metrics).toEqual({ enabled: true, port: 9464 });
      expect((await split.request("GET", "/metrics")).status).toBe(404);
      const metricsApp = createMetricsApp(split.services.metrics, split.services.logger);
      await split.request("GET", "/health");
      const samples = await scrape(metricsApp);
      expect(valueOf(samples, "servauth_http_requests_total", { method: "GET", route: "/health", status: "200" })).toBe(1);
      // Scrapes on the private listener are not counted as HTTP requests.
      expect(valueOf(samples, "servauth_http_requests_total", { route: "/metrics" })).toBe(0);
      const elsewhere = await metricsApp.request("/health");
      expect(elsewhere.status).toBe(404);
      expect(elsewhere.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    } finally {
      await split.close();
    }
  });
});

describe("WORKERS > 1: one scrape for every worker", () => {
  /** A worker's metrics as the supervisor relays them: through JSON, as Node's cluster IPC does. */
  function worker(activeSessions: number, busConnected: boolean, gatherWorkers?: () => Promise<MetricFamily[][]>) {
    return createMetrics({
      countActiveSessions: async () => activeSessions,
      isRevocationBusConnected: () => busConnected,
      countOutbox: async () => [],
      maxDbConnections: 10,
      logger: createLogger({ level: "silent" }),
      gatherWorkers,
    });
  }
  const overJson = async (metrics: ReturnType<typeof worker>) => JSON.parse(JSON.stringify(await metrics.snapshot())) as MetricFamily[];

  it("adds up counters and histograms, and aggregates each gauge by its meaning, in the strict text format", async () => {
    const one = worker(Number.NaN, true);
    const other = worker(Number.NaN, false);
    one.observeRequest({ method: "GET", route: "/auth/me", status: 200, durationSeconds: 0.001 });
    one.observeRequest({ method: "GET", route: "/auth/me", status: 200, durationSeconds: 0.2 });
    other.observeRequest({ method: "GET", route: "/auth/me", status: 200, durationSeconds: 0.003 });
    other.observeRequest({ method: "POST", route: "/auth/login", status: 401, durationSeconds: 0.04 });
    one.countSecurityEvent("login.failed");
    other.countSecurityEvent("login.failed");
    const answering = worker(0, true, async () => [await overJson(one), await overJson(other)]);

    const samples = parseExposition(await answering.render());
    const me = { method: "GET", route: "/auth/me", status: "200" };
    expect(valueOf(samples, "servauth_http_requests_total", me)).toBe(3);
    expect(valueOf(samples, "servauth_http_requests_total", { method: "POST", route: "/auth/login", status: "401" })).toBe(1);
    expect(valueOf(samples, "servauth_http_request_duration_seconds_bucket", { ...me, le: "0.005" })).toBe(2);
    expect(valueOf(samples, "servauth_http_request_duration_seconds_bucket", { ...me, le: "0.25" })).toBe(3);
    expect(valueOf(samples, "servauth_http_request_duration_seconds_bucket", { ...me, le: "+Inf" })).toBe(3);
    expect(valueOf(samples, "servauth_http_request_duration_seconds_sum", me)).toBeCloseTo(0.204);
    expect(valueOf(samples, "servauth_security_events_total", { type: "login.failed" })).toBe(2);
    expect(valueOf(samples, "servauth_workers_reporting")).toBe(2);
    expect(valueOf(samples, "servauth_db_pool_max_connections")).toBe(20);
    // One worker's bus is down: the instance's is not fully connected.
    expect(valueOf(samples, "servauth_revocation_bus_connected")).toBe(0);
    // Unknown (NaN, null in JSON) stays unknown, not zero.
    expect(valueOf(samples, "servauth_active_sessions")).toBeNaN();
    expect(samples.some((sample) => sample.name === "process_start_time_seconds")).toBe(false);
  });
});
