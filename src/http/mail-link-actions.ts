import type { Context } from "hono";
import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AppEnv } from "./app-env.ts";
import { auditContext } from "./audit-context.ts";
import type { RequestLimits } from "./request-limits.ts";

export type MailLinkActionDeps = Pick<Services, "passwordReset" | "emailVerification" | "accountDeletion" | "audit"> & {
  limits: RequestLimits;
};

/**
 * What following a mailed link does, whether the token comes to a JSON endpoint (routes/account.ts) or to one of
 * Servauth's own pages (pages/): the same rate limit, service call and audit event either way.
 */
export function createMailLinkActions({ passwordReset, emailVerification, accountDeletion, audit, limits }: MailLinkActionDeps) {
  return {
    /** INVALID_TOKEN for an unknown, used, expired or outdated token. */
    async verifyEmail(c: Context<AppEnv>, token: string): Promise<UserRow> {
      await limits.consume(c, "verifyIp", c.get("client").ip);
      const user = await emailVerification.verify(token);
      if (user === null) throw new AppError("INVALID_TOKEN");
      await audit.record("email.verified", { userId: user.id, payload: { email: user.email } }, auditContext(c));
      return user;
    },

    /** INVALID_TOKEN, or the password policy's VALIDATION_FAILED / PASSWORD_TOO_COMMON (the token stays usable). */
    async resetPassword(c: Context<AppEnv>, token: string, password: string): Promise<void> {
      await limits.consume(c, "resetPasswordIp", c.get("client").ip);
      const context = auditContext(c);
      const userId = await passwordReset.reset(token, password, context);
      await audit.record("password.reset", { userId }, context);
    },

    /** INVALID_TOKEN for an unknown, used or expired token, or a deletion already carried out. */
    async cancelDeletion(c: Context<AppEnv>, token: string): Promise<UserRow> {
      await limits.consume(c, "verifyIp", c.get("client").ip);
      const user = await accountDeletion.cancel(token);
      await audit.record("account.deletion_cancelled", { userId: user.id }, auditContext(c));
      return user;
    },
  };
}

export type MailLinkActions = ReturnType<typeof createMailLinkActions>;
