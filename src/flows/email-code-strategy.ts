import type { AccountClaim } from "../auth/account-claim.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { Registration } from "./registration.ts";
import type { Strategy } from "./sign-in-flow.ts";

/**
 * A right sign-in code for `to` (checked by the one-time-code service); `beforeSignUp` charges the registration
 * budget when the code creates the account (OTP_SIGNUP), and may refuse it.
 */
export type EmailCodeInput = { to: string; beforeSignUp: () => Promise<void> };

export type EmailCodeStrategyDeps = {
  registration: Pick<Registration, "userForSignInCode">;
  accountClaims: AccountClaim;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
};

/**
 * A code mailed to the address: its user, created with OTP_SIGNUP. An unverified account is claimed: whoever
 * registered the address without proving it loses password and sessions (src/auth/account-claim.ts), and the
 * owner is told if anything was taken.
 */
export function createEmailCodeStrategy({ registration, accountClaims, audit, mail }: EmailCodeStrategyDeps): Strategy<EmailCodeInput> {
  return {
    async prove({ to, beforeSignUp }, attempt) {
      const found = await registration.userForSignInCode(to, beforeSignUp);
      if (found === null) throw new AppError("OTP_CHALLENGE_INVALID");
      const proof = (user: typeof found.user) => ({ user, method: "email" as const, via: "otp" });
      if (found.created) {
        await audit.record("user.registered", { userId: found.user.id, payload: { via: "otp" } }, attempt.audit);
        return proof(found.user);
      }
      if (found.user.emailVerified) return proof(found.user);
      const claimed = await accountClaims.proveMailbox(found.user.id, to);
      if (claimed === null) throw new AppError("OTP_CHALLENGE_INVALID", { message: "The account no longer has this address" });
      if (claimed.evicted !== null) {
        const { passwordRemoved, identitiesRemoved, revokedSessionIds } = claimed.evicted;
        const payload = { via: "otp", passwordRemoved, identitiesRemoved, revokedSessions: revokedSessionIds.length };
        await audit.record("account.claimed", { userId: claimed.user.id, payload }, attempt.audit);
        // The owner may have set that password themselves (before confirming the address, or after changing it).
        if (passwordRemoved || identitiesRemoved > 0 || revokedSessionIds.length > 0) await mail.enqueue(mails.accountClaimed(to));
      }
      return proof(claimed.user);
    },
  };
}
