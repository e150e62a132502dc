import { AppError } from "../errors.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthenticatedSession } from "../sessions/session-service.ts";
import type { FactorCodes } from "./factor-codes.ts";

export type ReauthenticationFactor = "totp" | "recovery_code";

/**
 * A second factor proven again for step-up (POST /auth/reauthenticate): the app's code or a recovery code, the way
 * for an account without a password that has an app. Every code counts toward the account's second-factor lockout
 * (mfaAccount) before it is checked, as at sign-in, so parallel guesses get no more checks than the limit; a right
 * one resets it, and a replayed TOTP code or a secret that cannot be opened is refused and given back. Failures
 * are audited.
 */
export function createSecondFactorReproof(deps: { codes: FactorCodes; audit: Pick<AuditLog, "record"> }) {
  const { codes, audit } = deps;
  return async function proveSecondFactor({ user, session }: AuthenticatedSession, method: ReauthenticationFactor, code: string, attempt: Attempt): Promise<void> {
    await attempt.limits.consume("mfaAccount", user.id);
    const checked = method === "totp" ? await codes.totp(user, code) : await codes.recoveryCode(user, code, attempt.audit);
    const outcome = checked.status !== "match" ? checked.status : (await checked.spend()) ? "accepted" : "replay";
    if (outcome === "accepted") {
      await attempt.limits.reset("mfaAccount", user.id);
      return;
    }
    await audit.record("session.reauthentication_failed", { userId: user.id, sessionId: session.id, payload: { method, reason: outcome } }, attempt.audit);
    if (outcome !== "wrong") await attempt.limits.refund("mfaAccount", user.id);
    throw new AppError("MFA_INVALID_CODE");
  };
}

export type ProveSecondFactor = ReturnType<typeof createSecondFactorReproof>;
