import { describe, expect, it } from "vitest";
import { createLimiter } from "../../src/abuse/limiter.ts";
import { createMemoryRateLimitStore } from "../../src/abuse/rate-limit-store.ts";
import { DEFAULT_RULES } from "../../src/abuse/rules.ts";
import { AppError } from "../../src/errors.ts";
import { refusalHeaders } from "../../src/http/on-error.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { resendTooSoon } from "../../src/otp/otp-service.ts";

/** Issue 14's error discipline: services state when to come back as facts; only the HTTP layer makes headers of them. */
describe("refusal facts", () => {
  it("a rate-limit refusal carries Retry-After and the limit as typed fields, and no headers", async () => {
    const limiter = createLimiter(createMemoryRateLimitStore(), { ...DEFAULT_RULES, loginAccount: { max: 1, windowSeconds: 60 } }, createLogger({ level: "silent" }));
    await limiter.consume("loginAccount", "ann@example.com");
    const refusal = await limiter.consume("loginAccount", "ann@example.com").catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    const error = refusal as AppError;
    expect(error.headers).toBeUndefined();
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.rateLimit).toMatchObject({ rule: { max: 1, windowSeconds: 60 }, remaining: 0 });
    expect(refusalHeaders(error)).toMatchObject({
      "Retry-After": String(error.retryAfterSeconds),
      RateLimit: expect.stringMatching(/^limit=1, remaining=0, reset=\d+$/),
      "RateLimit-Policy": "1;w=60",
    });
  });

  it("a code asked for too soon says how long to wait; a step-up refusal becomes RFC 9470's challenge", () => {
    expect(refusalHeaders(resendTooSoon(1_500))).toEqual({ "Retry-After": "2" });
    const stepUp = new AppError("STEP_UP_REQUIRED", { extensions: { maxAge: 300 } });
    expect(refusalHeaders(stepUp)["WWW-Authenticate"]).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=300',
    );
  });

  it("the HTTP layer's own headers stay, and the facts survive withHeaders", () => {
    const error = new AppError("RATE_LIMITED", { retryAfterSeconds: 7 }).withHeaders({ "Set-Cookie": "a=b" });
    expect(refusalHeaders(error)).toEqual({ "Set-Cookie": "a=b", "Retry-After": "7" });
  });
});
