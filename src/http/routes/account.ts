import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { toPublicUser } from "../../auth/users.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { createMailLinkActions } from "../mail-link-actions.ts";
import { attemptOf } from "../sign-in.ts";
import { AUTHENTICATED, Email, jsonBody, jsonResponse, LinkToken, NewPassword, PresentedPassword, problem, PublicUserSchema } from "../schemas.ts";

export type AccountRouteDeps = Pick<
  Services,
  "changePassword" | "passwordReset" | "emailVerification" | "addressRequests" | "accountDeletion" | "audit"
> & { requireAuth: MiddlewareHandler<AppEnv>; limits: RequestLimits };

const accepted = jsonResponse(z.object({}).strict(), "Accepted; the same answer whether or not the address is known");

const post = <P extends string>(path: P, summary: string, tags = ["account"]) => ({ method: "post" as const, path, summary, tags });

const forgotPassword = createRoute({
  ...post("/forgot-password", "Mail a password-reset link"),
  request: { body: jsonBody(z.object({ email: Email })) },
  responses: { 202: accepted, 400: problem("VALIDATION_FAILED or INVALID_JSON"), 403: problem("CSRF_REJECTED") },
});

const resetPassword = createRoute({
  ...post("/reset-password", "Set a new password with a reset token; ends every session of the user"),
  request: { body: jsonBody(z.object({ token: LinkToken, password: NewPassword })) },
  responses: {
    204: { description: "Password set; every session of the user is revoked" },
    400: problem("INVALID_TOKEN (unknown, used or expired), PASSWORD_TOO_COMMON (the token stays usable), VALIDATION_FAILED or INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
  },
});

const verifyEmail = createRoute({
  ...post("/verify-email", "Confirm an email address with the mailed token"),
  request: { body: jsonBody(z.object({ token: LinkToken })) },
  responses: {
    200: jsonResponse(z.object({ user: PublicUserSchema }), "Verified"),
    400: problem("INVALID_TOKEN, VALIDATION_FAILED or INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
  },
});

const resendVerification = createRoute({
  ...post("/resend-verification", "Mail a new verification link to an unverified address"),
  request: { body: jsonBody(z.object({ email: Email })) },
  responses: { 202: accepted, 400: problem("VALIDATION_FAILED or INVALID_JSON"), 403: problem("CSRF_REJECTED") },
});

const changePassword = createRoute({
  ...post("/change-password", "Change (or, for an account made by a sign-in code, set) the password of the signed-in user"),
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z.object({
        currentPassword: PresentedPassword.optional().openapi({
          description: "Required when the account has a password; an account without one needs a recent authentication instead",
        }),
        newPassword: NewPassword,
        revokeOtherSessions: z.boolean().optional(),
      }),
    ),
  },
  responses: {
    204: { description: "Changed" },
    400: problem("VALIDATION_FAILED, INVALID_JSON, or PASSWORD_TOO_COMMON (a common or breached password, or one containing the email's name)"),
    401: problem(
      "UNAUTHENTICATED, INVALID_CREDENTIALS (wrong current password), or STEP_UP_REQUIRED (no password yet and no recent authentication: " +
        "POST /auth/reauthenticate first)",
    ),
    403: problem("CSRF_REJECTED"),
    409: problem("PASSWORD_NOT_SET (a currentPassword was given but the account has none: leave it out and re-authenticate by code)"),
  },
});

const cancelDeletion = createRoute({
  ...post("/cancel-deletion", "Cancel a scheduled account deletion with the mailed token"),
  request: { body: jsonBody(z.object({ token: LinkToken })) },
  responses: {
    200: jsonResponse(z.object({ user: PublicUserSchema }), "Deletion cancelled; the user can sign in again"),
    400: problem("INVALID_TOKEN, VALIDATION_FAILED or INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
  },
});

/** Password reset, email verification, password change and deletion cancellation under /auth. */
export function createAccountRoutes(deps: AccountRouteDeps) {
  const { limits } = deps;
  const links = createMailLinkActions(deps);
  /** Endpoints that send mail: per address and per IP, so neither an inbox nor the mail server can be flooded. */
  const limitMailTo = async (c: Context<AppEnv>, email: string) => {
    await limits.consume(c, "forgotPasswordIp", c.get("client").ip);
    await limits.consume(c, "forgotPasswordEmail", email);
  };
  return createRouter()
    .openapi(forgotPassword, async (c) => {
      const { email } = c.req.valid("json");
      await limitMailTo(c, email);
      await deps.addressRequests.requestPasswordReset(email, auditContext(c));
      return c.json({}, 202);
    })
    .openapi(resetPassword, async (c) => {
      const { token, password } = c.req.valid("json");
      await links.resetPassword(c, token, password);
      return c.body(null, 204);
    })
    .openapi(verifyEmail, async (c) => {
      const user = await links.verifyEmail(c, c.req.valid("json").token);
      return c.json({ user: toPublicUser(user) }, 200);
    })
    .openapi(resendVerification, async (c) => {
      const { email } = c.req.valid("json");
      await limitMailTo(c, email);
      await deps.addressRequests.resendVerification(email, auditContext(c));
      return c.json({}, 202);
    })
    .openapi({ ...changePassword, middleware: [deps.requireAuth] }, async (c) => {
      await deps.changePassword(c.get("auth"), c.req.valid("json"), attemptOf(c, limits));
      return c.body(null, 204);
    })
    .openapi(cancelDeletion, async (c) => {
      const user = await links.cancelDeletion(c, c.req.valid("json").token);
      return c.json({ user: toPublicUser(user) }, 200);
    });
}
