import { createMiddleware } from "hono/factory";
import { isAdmin } from "../../admin/roles.ts";
import { AppError } from "../../errors.ts";
import type { StepUp } from "../../flows/step-up.ts";
import type { AppEnv, Authentication } from "../app-env.ts";
import type { RequestLimits } from "../request-limits.ts";

/**
 * After authenticate, from a session (a personal API key is refused: it proves no factor, and the admin API can ban
 * and impersonate): the caller holds the admin role, read from the cached user (a demotion publishes the user,
 * so it acts on the next request on every instance, not at token expiry), and the session is the administrator's
 * own, not one opened by impersonation; with ADMIN_MFA_REQUIRED, an administrator who has a second factor is on a
 * session that proved it (a stolen password alone opens no admin route). Then the admin API's own budget per
 * session (RATE_LIMIT_ADMIN_SESSION).
 */
export function requireAdmin(limits: RequestLimits, stepUp: StepUp, secondFactorRequired: boolean) {
  const assertAdmin = createAdminCheck(stepUp, secondFactorRequired);
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = c.get("auth");
    assertAdmin(auth);
    await limits.consume(c, "adminSession", auth.session.id);
    await next();
  });
}

/**
 * requireAdmin's refusals without its rate limit: FORBIDDEN_FOR_API_KEY, FORBIDDEN, or STEP_UP_REQUIRED for an
 * unproven second factor.
 */
export function createAdminCheck(stepUp: StepUp, secondFactorRequired: boolean) {
  return (auth: Authentication): void => {
    if (auth.via === "key") throw new AppError("FORBIDDEN_FOR_API_KEY");
    const { user, session } = auth;
    if (!isAdmin(user) || session.impersonatorId !== null) throw new AppError("FORBIDDEN", { message: "The admin API needs the admin role" });
    if (secondFactorRequired) stepUp.assertSessionProvedSecondFactor(auth);
  };
}
