import { isAPIError } from "better-auth/api";
import type { MailMessage } from "../delivery/mailer.ts";
import { mails, tokenLink } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { ApiKeys } from "../machine/api-keys.ts";
import type { MfaChallenges } from "../mfa/mfa-challenges.ts";
import type { AuditContext } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Auth } from "./better-auth.ts";
import type { PasswordPolicy } from "./password-policy.ts";
import type { UserRow } from "./users.ts";
import type { VerificationTokens } from "./verification-tokens.ts";

export type PasswordResetDeps = {
  auth: Auth;
  bus: RevocationBus;
  tokens: VerificationTokens;
  passwordPolicy: PasswordPolicy;
  mfaChallenges: Pick<MfaChallenges, "revokeAll">;
  apiKeys: Pick<ApiKeys, "revokeAllFor">;
  /** The link template, "{token}" where the token goes. */
  link: string;
  ttlSeconds: number;
};

/**
 * Better-Auth's reset flow: a reset token is a verification value under Better-Auth's own `reset-password` purpose,
 * stored hashed; it is issued here rather than by Better-Auth's requestPasswordReset (which hands the token to a
 * mail hook) so the caller writes the mail where it must (with a composed intent's settling, or right away).
 * resetPassword consumes it atomically in the same transaction that sets the new hash and deletes the user's
 * sessions. We publish the revocation so every instance's cache forgets them at once, end the sign-ins waiting for
 * a second factor, whose first factor was the old password, and revoke the user's API keys: a reset is how an
 * account is taken back, and a key made by whoever held it must not outlive that.
 */
export function createPasswordReset({ auth, bus, tokens, passwordPolicy, mfaChallenges, apiKeys, link, ttlSeconds }: PasswordResetDeps) {
  return {
    /** The reset mail for the user's address, with a newly issued token. */
    async message(user: Pick<UserRow, "id" | "email">): Promise<MailMessage> {
      const token = await tokens.issue("reset-password", user.id, ttlSeconds);
      return mails.passwordReset(user.email, tokenLink(link, token), ttlSeconds);
    },

    /**
     * The id of the user whose password was reset; INVALID_TOKEN for an unknown, used or expired token. A password
     * the policy refuses leaves the token unspent, so the user can try another.
     */
    async reset(token: string, newPassword: string, context: AuditContext): Promise<string> {
      const { internalAdapter } = await auth.$context;
      const pending = await internalAdapter.findVerificationValue(`reset-password:${token}`);
      // An expired token is refused before the new password is judged, as it would be after.
      if (pending === null || pending.expiresAt.getTime() <= Date.now()) throw new AppError("INVALID_TOKEN");
      // The policy needs the address (a password must not contain its name part); the token names only the user.
      const user = await internalAdapter.findUserById(pending.value);
      if (user === null) throw new AppError("INVALID_TOKEN");
      await passwordPolicy.assertAcceptable(newPassword, { email: user.email, field: "password" });
      try {
        await auth.api.resetPassword({ body: { token, newPassword } });
      } catch (error) {
        // The token expired, or a parallel reset consumed it first.
        if (isAPIError(error) && error.statusCode === 400) throw new AppError("INVALID_TOKEN", { cause: error });
        throw error;
      }
      await mfaChallenges.revokeAll(pending.value);
      await apiKeys.revokeAllFor(pending.value, { reason: "password_reset" }, context);
      await bus.publish({ kind: "user", userId: pending.value });
      return pending.value;
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
