import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf, UserIdParam } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, problem } from "../schemas.ts";

export type AdminUserMfaDeps = Pick<Services, "admin"> & { recent: MiddlewareHandler<AppEnv> };

const resetSecondFactors = createRoute({
  method: "delete",
  path: "/{id}/mfa",
  tags: ["admin"],
  summary: "Remove every second factor and recovery code of the user (who is mailed); the user signs in with the first factor again",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 204: { description: "The user has no second factor (also when there was none)" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

/** DELETE /auth/admin/users/{id}/mfa. */
export function createAdminUserMfaRoutes({ admin, recent }: AdminUserMfaDeps) {
  return createRouter().openapi({ ...resetSecondFactors, middleware: [recent] }, async (c) => {
    await admin.resetSecondFactors(c.req.valid("param").id, actorOf(c));
    return c.body(null, 204);
  });
}
