import type { CredentialService } from "../auth/credentials.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { Strategy } from "./sign-in-flow.ts";

export type PasswordInput = { email: string; password: string };

/**
 * Email and password. The limits come first, in one round trip to their store: per address, the stuffing throttle
 * (distinct accounts one address failed against), and the account's lockout, counted before the password is
 * checked so that past it no argon2 work is done for anyone; an attempt refused by one of them is not counted by
 * the next. An unknown email and a wrong password fail alike.
 */
export function createPasswordStrategy(deps: { credentials: CredentialService; audit: Pick<AuditLog, "record"> }): Strategy<PasswordInput> {
  const { credentials, audit } = deps;
  return {
    async prove({ email, password }, { limits, audit: context }) {
      await limits.consumeInOrder([
        { name: "loginIp", subject: context.ipAddress },
        { name: "stuffingIp", subject: context.ipAddress, peek: true },
        { name: "loginAccount", subject: email },
      ]);
      const checked = await credentials.checkCredentials(email, password);
      if (!checked.valid) {
        const payload = checked.unverified ? { email, reason: "email not verified" } : { email };
        await audit.record("login.failed", { userId: checked.userId, payload }, context);
        await limits.countDistinct("stuffingIp", context.ipAddress, email);
        throw new AppError("INVALID_CREDENTIALS");
      }
      const { user } = checked;
      await limits.reset("loginAccount", email);
      // An unverified account can be claimed by the address's owner (a sign-in code) while this login runs: the
      // claim deletes the password and the sessions it can see, so a session made after its check must go too.
      // The claim locks the user row, which every session insert waits for, so checking afterwards closes the gap.
      const stillEntitled = user.emailVerified ? undefined : () => credentials.hasPassword(user.id);
      return { user, method: "pwd", ...(stillEntitled ? { stillEntitled } : {}) };
    },
  };
}
