import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { StepUp } from "../../flows/step-up.ts";
import type { AppEnv } from "../app-env.ts";

/**
 * After authenticate: the session must have been authenticated within STEP_UP_MAX_AGE, else 401 STEP_UP_REQUIRED.
 * Reads the cached session only, so it costs the hot path nothing.
 */
export function requireRecentAuthentication(stepUp: StepUp) {
  return createMiddleware<AppEnv>(async (c, next) => {
    stepUp.assertRecent(c.get("auth").session);
    await next();
  });
}

/**
 * After authenticate, for changing second factors and recovery codes: once the user has a second factor, the
 * session must have proven it (401 STEP_UP_REQUIRED asking for aal2) as well as be recent.
 */
export function requireSecondFactorSession(stepUp: StepUp) {
  return createMiddleware<AppEnv>(async (c, next) => {
    stepUp.assertSecondFactorProven(c.get("auth"));
    await next();
  });
}

/**
 * After authenticate, on routes that are not step-up protected yet must not be reachable with a personal API key
 * (logout, key management, confirming a second factor): 403 FORBIDDEN_FOR_API_KEY. Step-up protected routes need
 * no such line: src/flows/step-up.ts refuses keys itself.
 */
export const refuseApiKey = createMiddleware<AppEnv>(async (c, next) => {
  if (c.get("auth").via === "key") throw new AppError("FORBIDDEN_FOR_API_KEY");
  await next();
});

/**
 * After authenticate, on routes that change the user's sign-in factors without needing a recent authentication
 * (finishing a ceremony whose options did, renaming a passkey): only the user's own session, neither a personal
 * API key (403 FORBIDDEN_FOR_API_KEY) nor an administrator impersonating the user (403 FORBIDDEN).
 */
export function requireOwnSession(stepUp: StepUp) {
  return createMiddleware<AppEnv>(async (c, next) => {
    stepUp.assertOwnSession(c.get("auth").session);
    await next();
  });
}
