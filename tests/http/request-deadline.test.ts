import { describe, expect, it } from "vitest";
import { requestDeadline } from "../../src/http/middleware/deadline.ts";
import { requestId } from "../../src/http/middleware/request-id.ts";
import { createErrorHandler } from "../../src/http/on-error.ts";
import { createRouter } from "../../src/http/router.ts";
import { createLogger } from "../../src/observability/logger.ts";

/** A handler waiting on something that never settles (a query the driver lost) still gets an answer, in time. */
function appWithDeadline(ms: number) {
  const app = createRouter();
  app.use(requestId);
  app.use(requestDeadline(ms));
  app.get("/never", () => new Promise<Response>(() => {}));
  app.get("/quick", (c) => c.json({ ok: true }));
  app.onError(createErrorHandler(createLogger({ level: "silent" })));
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
