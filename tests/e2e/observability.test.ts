import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { e2eRuntimes, freePort, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * The real server on each runtime with METRICS_PORT: /metrics on a listener of its own (prom-client's default
 * metrics, event-loop lag included, work on Bun as on Node), JSON request lines on stdout, and SIGTERM closing
 * both listeners.
 */
describe.each<Runtime>(e2eRuntimes())("observability on %s", (runtime) => {
  let server: SpawnedServer | undefined;
  let metricsUrl = "";

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await spawnServer({ runtime, env: { METRICS_PORT: String(metricsPort), LOG_LEVEL: "info" } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const running = (): SpawnedServer => {
    if (server === undefined) throw new Error("no server");
    return server;
  };

  test("serves /metrics on METRICS_PORT only, with request, event-loop and process metrics", async () => {
    const { url } = running();
    const main = await fetch(`${url}/metrics`);
    expect(main.status).toBe(404);
    await main.body?.cancel();
    const login = await fetch(`${url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.com", password: "not a password" }),
    });
    expect(login.status).toBe(401);
    await login.body?.cancel();

    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^servauth_http_requests_total\{method="POST",route="\/auth\/login",status="401"\} 1$/m);
    expect(text).toMatch(/^servauth_security_events_total\{type="login.failed"\} 1$/m);
    expect(text).toMatch(/^servauth_active_sessions 0$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds [0-9.e-]+$/m);
    expect(text).toMatch(/^process_cpu_seconds_total [0-9.e-]+$/m);
    expect(await (await fetch(`${metricsUrl.replace(/\/metrics$/, "/health")}`)).text()).toMatch(/NOT_FOUND/);
  });

  test("logs one JSON line per request, and SIGTERM stops both listeners with exit code 0", async () => {
    const { url } = running();
    const health = await fetch(`${url}/health`, { headers: { "x-request-id": `e2e-log-${runtime}` } });
    expect(health.status).toBe(200);
    await health.body?.cancel();

    const stopped = running();
    server = undefined;
    expect(await stopped.stop("SIGTERM"), stopped.output()).toBe(0);
    const line = stopped
      .output()
      .split("\n")
      .filter((candidate) => candidate.startsWith("{"))
      .map((candidate) => JSON.parse(candidate) as Record<string, unknown>)
      .find((candidate) => candidate.requestId === `e2e-log-${runtime}`);
    expect(line).toMatchObject({ msg: "request", method: "GET", route: "/health", status: 200, clientIp: "127.0.0.1" });
    await expect(fetch(metricsUrl)).rejects.toThrow();
  });
});
