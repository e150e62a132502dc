import { isAPIError } from "better-auth/api";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Auth } from "./better-auth.ts";

/**
 * Better-Auth's reset flow: requestPasswordReset stores a hashed single-use token and hands it to the mail hook
 * configured in createAuth; resetPassword consumes it atomically in the same transaction that sets the new hash
 * and deletes the user's sessions. We publish the revocation so every instance's cache forgets them at once.
 */
export function createPasswordReset(auth: Auth, bus: RevocationBus) {
  return {
    /** Answers the same whether or not the email is known; the mail goes out in the background. */
    async request(email: string): Promise<void> {
      await auth.api.requestPasswordReset({ body: { email } });
    },

    /** The id of the user whose password was reset; INVALID_TOKEN for an unknown, used or expired token. */
    async reset(token: string, newPassword: string): Promise<string> {
      const { internalAdapter } = await auth.$context;
      const pending = await internalAdapter.findVerificationValue(`reset-password:${token}`);
      if (pending === null) throw new AppError("INVALID_TOKEN");
      try {
        await auth.api.resetPassword({ body: { token, newPassword } });
      } catch (error) {
        // The token expired, or a parallel reset consumed it first.
        if (isAPIError(error) && error.statusCode === 400) throw new AppError("INVALID_TOKEN", { cause: error });
        throw error;
      }
      await bus.publish({ kind: "user", userId: pending.value });
      return pending.value;
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
