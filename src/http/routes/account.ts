import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { findUserByEmail, toPublicUser } from "../../auth/users.ts";
import { mails } from "../../delivery/templates.ts";
import { AppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, Email, jsonBody, jsonResponse, NewPassword, PresentedPassword, problem, PublicUserSchema } from "../schemas.ts";

export type AccountRouteDeps = Pick<
  Services,
  "database" | "credentials" | "passwordPolicy" | "sessions" | "passwordReset" | "emailVerification" | "accountDeletion" | "mail" | "audit"
> & { requireAuth: MiddlewareHandler<AppEnv>; limits: RequestLimits };

/** Tokens arrive from links: opaque, URL-safe, bounded. Anything else cannot be one of ours. */
const Token = z.string().min(16).max(256).regex(/^[A-Za-z0-9_-]+$/, "Not a token");
const accepted = jsonResponse(z.object({}).strict(), "Accepted; the same answer whether or not the address is known");

const post = <P extends string>(path: P, summary: string, tags = ["account"]) => ({ method: "post" as const, path, summary, tags });

const forgotPassword = createRoute({
  ...post("/forgot-password", "Mail a password-reset link"),
  request: { body: jsonBody(z.object({ email: Email })) },
  responses: { 202: accepted, 400: problem("VALIDATION_FAILED or INVALID_JSON"), 403: problem("CSRF_REJECTED") },
});

const resetPassword = createRoute({
  ...post("/reset-password", "Set a new password with a reset token; ends every session of the user"),
  request: { body: jsonBody(z.object({ token: Token, password: NewPassword })) },
  responses: {
    204: { description: "Password set; every session of the user is revoked" },
    400: problem("INVALID_TOKEN (unknown, used or expired), PASSWORD_TOO_COMMON (the token stays usable), VALIDATION_FAILED or INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
  },
});

const verifyEmail = createRoute({
  ...post("/verify-email", "Confirm an email address with the mailed token"),
  request: { body: jsonBody(z.object({ token: Token })) },
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
  ...post("/change-password", "Change the password of the signed-in user"),
  security: AUTHENTICATED,
  request: {
    body: jsonBody(z.object({ currentPassword: PresentedPassword, newPassword: NewPassword, revokeOtherSessions: z.boolean().optional() })),
  },
  responses: {
    204: { description: "Changed" },
    400: problem("VALIDATION_FAILED, INVALID_JSON, or PASSWORD_TOO_COMMON (a common or breached password, or one containing the email's name)"),
    401: problem("UNAUTHENTICATED or INVALID_CREDENTIALS (wrong current password)"),
    403: problem("CSRF_REJECTED"),
  },
});

const cancelDeletion = createRoute({
  ...post("/cancel-deletion", "Cancel a scheduled account deletion with the mailed token"),
  request: { body: jsonBody(z.object({ token: Token })) },
  responses: {
    200: jsonResponse(z.object({ user: PublicUserSchema }), "Deletion cancelled; the user can sign in again"),
    400: problem("INVALID_TOKEN, VALIDATION_FAILED or INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
  },
});

/** Password reset, email verification, password change and deletion cancellation under /auth. */
export function createAccountRoutes(deps: AccountRouteDeps) {
  const { audit, limits } = deps;
  /** Endpoints that send mail: per address and per IP, so neither an inbox nor the mail server can be flooded. */
  const limitMailTo = async (c: Context<AppEnv>, email: string) => {
    await limits.consume(c, "forgotPasswordIp", c.get("clientIp"));
    await limits.consume(c, "forgotPasswordEmail", email);
  };
  return createRouter()
    .openapi(forgotPassword, async (c) => {
      const { email } = c.req.valid("json");
      await limitMailTo(c, email);
      await deps.passwordReset.request(email);
      // Looked up for known and unknown addresses alike: the owner sees the request in their trail.
      const owner = await findUserByEmail(deps.database.db, email);
      await audit.record("password.reset_requested", { userId: owner?.id ?? null, payload: { email } }, auditContext(c));
      return c.json({}, 202);
    })
    .openapi(resetPassword, async (c) => {
      const { token, password } = c.req.valid("json");
      await limits.consume(c, "resetPasswordIp", c.get("clientIp"));
      const userId = await deps.passwordReset.reset(token, password);
      await audit.record("password.reset", { userId }, auditContext(c));
      return c.body(null, 204);
    })
    .openapi(verifyEmail, async (c) => {
      await limits.consume(c, "verifyIp", c.get("clientIp"));
      const user = await deps.emailVerification.verify(c.req.valid("json").token);
      if (user === null) throw new AppError("INVALID_TOKEN");
      await audit.record("email.verified", { userId: user.id, payload: { email: user.email } }, auditContext(c));
      return c.json({ user: toPublicUser(user) }, 200);
    })
    .openapi(resendVerification, async (c) => {
      const { email } = c.req.valid("json");
      await limitMailTo(c, email);
      const user = await findUserByEmail(deps.database.db, email);
      if (user !== undefined && !user.emailVerified && user.deletionScheduledAt === null) {
        await deps.emailVerification.send(user);
        await audit.record("email.verification_sent", { userId: user.id }, auditContext(c));
      }
      return c.json({}, 202);
    })
    .openapi({ ...changePassword, middleware: [deps.requireAuth] }, async (c) => {
      const { user, session } = c.get("auth");
      const { currentPassword, newPassword, revokeOtherSessions } = c.req.valid("json");
      await deps.passwordPolicy.assertAcceptable(newPassword, { email: user.email, field: "newPassword" });
      // The current password is a credential check like a login: same per-account limit, reset on success.
      await limits.consume(c, "loginAccount", user.email);
      await deps.credentials.changePassword(user.id, currentPassword, newPassword);
      await limits.reset("loginAccount", user.email);
      if (revokeOtherSessions === true) await deps.sessions.revokeAll(user.id, session.id);
      deps.mail.enqueue(mails.passwordChanged(user.email));
      await audit.record("password.changed", { userId: user.id, sessionId: session.id, payload: { revokeOtherSessions } }, auditContext(c));
      return c.body(null, 204);
    })
    .openapi(cancelDeletion, async (c) => {
      await limits.consume(c, "verifyIp", c.get("clientIp"));
      const user = await deps.accountDeletion.cancel(c.req.valid("json").token);
      await audit.record("account.deletion_cancelled", { userId: user.id }, auditContext(c));
      return c.json({ user: toPublicUser(user) }, 200);
    });
}
