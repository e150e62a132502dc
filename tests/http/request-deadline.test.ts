import { describe, expect, it } from "vitest";
import { requestDeadline } from "../../src/http/middleware/deadline.ts";
import { watchRequestBody } from "../../src/http/middleware/request-body.ts";
import { requestEnvelope } from "../../src/http/middleware/request-envelope.ts";
import { createErrorHandler } from "../../src/http/on-error.ts";
import { createRouter } from "../../src/http/router.ts";
import { createLogger } from "../../src/observability/logger.ts";

/** A handler waiting on something that never settles (a query the driver lost) still gets an answer, in time. */
function appWithDeadline(ms: number) {
  const app = createRouter();
  const logger = createLogger({ level: "silent" });
  app.use(requestEnvelope({ trustProxy: 0, readSocketAddress: () => "192.0.2.1", logger, metrics: null }));
  app.use(requestDeadline(ms));
  app.get("/never", () => new Promise<Response>(() => {}));
  app.get("/quick", (c) => c.json({ ok: true }));
  app.post("/echo", watchRequestBody, async (c) => c.json({ received: await c.req.text() }));
  app.onError(createErrorHandler(logger));
  return app;
}

describe("the request deadline", () => {
  it("answers 503 DEPENDENCY_UNAVAILABLE with Retry-After once it passes", async () => {
    const started = performance.now();
    const response = await appWithDeadline(150).request("/never");
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.json()).toMatchObject({ code: "DEPENDENCY_UNAVAILABLE", detail: "no answer within 150 ms" });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("leaves a request answered in time alone", async () => {
    const response = await appWithDeadline(150).request("/quick");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

/** A body that sends its first bytes, then (as a client that declared more than it sends) nothing, or an error. */
function brokenBody(then: "stall" | "fail"): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"email":'));
      if (then === "fail") controller.error(new Error("The connection was closed."));
    },
  });
}

const post = (body: ReadableStream<Uint8Array>) => ({ method: "POST", body, duplex: "half" }) as RequestInit;

describe("the request body", () => {
  it("still arriving when the deadline passes is the client's wait: 408 REQUEST_TIMEOUT, and the connection closes", async () => {
    const response = await appWithDeadline(150).request("/echo", post(brokenBody("stall")));
    expect(response.status).toBe(408);
    expect(response.headers.get("connection")).toBe("close");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toMatchObject({ code: "REQUEST_TIMEOUT" });
  });

  it("that breaks off is the client's error: 400 MALFORMED_REQUEST, not a 500", async () => {
    const response = await appWithDeadline(150).request("/echo", post(brokenBody("fail")));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "MALFORMED_REQUEST" });
  });

  it("that arrives whole is read as sent", async () => {
    const response = await appWithDeadline(150).request("/echo", { method: "POST", body: '{"email":"a@example.com"}' });
    expect(await response.json()).toEqual({ received: '{"email":"a@example.com"}' });
  });
});
