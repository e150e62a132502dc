import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import type { CookieJar } from "../cookies.ts";
import { requireAdmin } from "../middleware/require-admin.ts";
import { requireRecentAuthentication } from "../middleware/step-up.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { createAdminAuditRoutes } from "./admin-audit.ts";
import { createAdminClientRoutes } from "./admin-clients.ts";
import { createAdminMailRoutes } from "./admin-mail.ts";
import { createAdminWebhookRoutes } from "./admin-webhooks.ts";
import { createAdminUserActionRoutes } from "./admin-user-actions.ts";
import { createAdminUserMfaRoutes } from "./admin-user-mfa.ts";
import { createAdminUserSessionRoutes } from "./admin-user-sessions.ts";
import { createAdminUserRoutes } from "./admin-users.ts";

export type AdminRouteDeps = Pick<Services, "config" | "admin" | "audit" | "sessions" | "accessTokens" | "stepUp" | "oauthClients" | "failedMail" | "webhooks"> & {
  cookies: CookieJar;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

/**
 * /auth/admin: every route needs a session whose user holds the admin role (403 FORBIDDEN otherwise) and counts
 * toward RATE_LIMIT_ADMIN_SESSION; every change also needs a recent authentication (step-up, STEP_UP_MAX_AGE).
 */
export function createAdminRoutes(deps: AdminRouteDeps) {
  const recent = requireRecentAuthentication(deps.stepUp);
  const app = createRouter();
  // Once here, not in each router below: three of them share /users, and each one's use() would run for all.
  app.use(deps.requireAuth, requireAdmin(deps.limits, deps.stepUp, deps.config.admin.secondFactorRequired));
  return app
    .route("/users", createAdminUserRoutes({ ...deps, recent }))
    .route("/users", createAdminUserActionRoutes({ ...deps, recent }))
    .route("/users", createAdminUserSessionRoutes({ ...deps, recent }))
    .route("/users", createAdminUserMfaRoutes({ ...deps, recent }))
    .route("/clients", createAdminClientRoutes({ ...deps, recent }))
    .route("/audit", createAdminAuditRoutes(deps))
    .route("/mail", createAdminMailRoutes({ ...deps, recent }))
    .route("/", createAdminWebhookRoutes({ ...deps, recent }));
}
