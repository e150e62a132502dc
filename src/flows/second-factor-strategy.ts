import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { EmailCodes } from "../mfa/email-codes.ts";
import type { CheckedCode, FactorCodes } from "../mfa/factor-codes.ts";
import type { FactorStore } from "../mfa/factor-store.ts";
import type { MfaChallengeRow, MfaChallenges } from "../mfa/mfa-challenges.ts";
import { type CodeMethod, methodsFor, type SecondFactorSources } from "../mfa/second-factor-gate.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AssertionVerifier } from "../passkeys/assertions.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import type { Attempt, Strategy } from "./sign-in-flow.ts";

/** What proves the second factor: a typed code, or a passkey's assertion over a challenge bound to the mfaToken. */
export type SecondFactorProof = { method: CodeMethod; code: string } | { method: "webauthn"; response: AuthenticationResponseJSON };

/** A second factor for the sign-in an mfaToken stands for (its challenge row, already found live, and its user). */
export type SecondFactorInput = { challenge: MfaChallengeRow; user: UserRow } & SecondFactorProof;

export type SecondFactorStrategyDeps = {
  factors: FactorStore;
  sources: SecondFactorSources;
  assertions: AssertionVerifier;
  codes: FactorCodes;
  challenges: Pick<MfaChallenges, "reserveAttempt" | "giveBackAttempt" | "burn" | "claim" | "restore">;
  emailCodes: Pick<EmailCodes, "matches">;
  audit: Pick<AuditLog, "record">;
  now: () => Date;
};

/**
 * RFC 8176 names: `otp` for an authenticator app's code; a recovery code is a one-time password too (NIST SP
 * 800-63B's look-up secret, "something you have"), so also `otp`; `email` for a mailed code.
 */
const METHOD_AMR: Record<CodeMethod, AuthMethod> = { totp: "otp", recovery_code: "otp", email: "email" };

/** A checked factor and the method it counts as (a passkey's depends on the key: hwk, or swk when synced). */
type Checked = { checked: CheckedCode; amr: AuthMethod };

/**
 * The second factor of a sign-in: a TOTP code (each time step accepted once per user), a recovery code (used once)
 * or a code mailed for this mfaToken. Every code is counted before it is checked, on the account (the mfaAccount
 * lockout) and on the mfaToken (the fifth wrong one burns it), so a parallel burst over several tokens gets no more
 * checks than the limits allow. A right code claims the token before the factor is spent, so of concurrent right
 * codes on one token only the one that signs in uses its factor up. A right code whose factor was spent meanwhile
 * (a replayed TOTP step) and a code for a secret that cannot be opened any more are refused and audited but given
 * back to both counts: a client's retries cannot burn the token its first request is signing in with.
 * A passkey counts the same way: an assertion that fails (another user's credential, a bad signature, no user
 * verification) is a wrong code; its signature counter is recorded only once the token is claimed. One refused
 * before a key was tried (WEBAUTHN_CHALLENGE_INVALID, audited as passkey.refused) or by a passkey rate limit is
 * given back to both counts, as its error is the answer.
 */
export function createSecondFactorStrategy(deps: SecondFactorStrategyDeps): Strategy<SecondFactorInput> {
  const { factors, sources, assertions, codes, challenges, emailCodes, audit, now } = deps;

  async function checkPasskey(challenge: MfaChallengeRow, user: UserRow, response: AuthenticationResponseJSON, attempt: Attempt): Promise<Checked> {
    const assertion = await assertions.verify(response, { kind: "mfa", mfaChallengeId: challenge.id }, attempt, user.id);
    if (!assertion.ok) return { checked: { status: "wrong" }, amr: "hwk" };
    const spend = async () => {
      if (!(await assertion.accept())) return false;
      await audit.record("passkey.signed_in", { userId: user.id, payload: { passkeyId: assertion.passkey.id, factor: "second" } }, attempt.audit);
      return true;
    };
    return { checked: { status: "match", spend }, amr: assertion.method };
  }

  async function check(input: SecondFactorInput, attempt: Attempt): Promise<Checked> {
    const { challenge, user } = input;
    if (input.method === "webauthn") return checkPasskey(challenge, user, input.response, attempt);
    const amr = METHOD_AMR[input.method];
    if (input.method === "totp") return { checked: await codes.totp(user, input.code), amr };
    if (input.method === "recovery_code") return { checked: await codes.recoveryCode(user, input.code, attempt.audit), amr };
    const { emailCodeHash, emailCodeExpiresAt } = challenge;
    if (emailCodeHash === null || emailCodeExpiresAt === null || emailCodeExpiresAt <= now() || !emailCodes.matches(emailCodeHash, user.email, input.code)) {
      return { checked: { status: "wrong" }, amr };
    }
    return { checked: { status: "match", spend: async () => (await factors.touch(user.id, "email", now()), true) }, amr };
  }

  /** The code did not count: both attempts are handed back. */
  async function notCounted({ user, method }: SecondFactorInput, attempt: Attempt, reason: "replay" | "unusable", attemptsLeft: number): Promise<never> {
    await audit.record("mfa.failed", { userId: user.id, payload: { method, reason } }, attempt.audit);
    await attempt.limits.refund("mfaAccount", user.id);
    throw new AppError("MFA_INVALID_CODE", { extensions: { attemptsLeft } });
  }

  return {
    async prove(input, attempt) {
      const { user, method, challenge } = input;
      // Offered only after another first factor, and only while the factor exists (src/mfa/second-factor-gate.ts).
      if (method === "email" && !(await methodsFor(sources, user, challenge.firstMethod)).includes("email")) {
        throw new AppError("MFA_CHALLENGE_INVALID", { message: "Email codes cannot finish this sign-in" });
      }
      await attempt.limits.consume("mfaAccount", user.id);
      const attemptsLeft = await challenges.reserveAttempt(challenge.id);
      if (attemptsLeft === null) {
        await attempt.limits.refund("mfaAccount", user.id);
        throw new AppError("MFA_CHALLENGE_INVALID");
      }
      const { checked, amr } = await check(input, attempt).catch(async (error: unknown) => {
        // An error, not a verdict (a passkey's challenge invalid before any key was tried, a passkey rate limit): not a wrong code.
        await challenges.giveBackAttempt(challenge.id);
        await attempt.limits.refund("mfaAccount", user.id);
        throw error;
      });
      if (checked.status === "unusable") {
        await challenges.giveBackAttempt(challenge.id);
        return notCounted(input, attempt, "unusable", attemptsLeft + 1);
      }
      if (checked.status === "wrong") {
        await audit.record("mfa.failed", { userId: user.id, payload: { method, reason: "wrong" } }, attempt.audit);
        if (attemptsLeft === 0) {
          await challenges.burn(challenge.id);
          await audit.record("mfa.burned", { userId: user.id, payload: { method } }, attempt.audit);
        }
        throw new AppError("MFA_INVALID_CODE", { extensions: { attemptsLeft } });
      }
      // The token signs in once: of concurrent right codes (a recovery code and a TOTP code, say) one claims it.
      const claimed = await challenges.claim(challenge.id);
      if (claimed === null) {
        await attempt.limits.refund("mfaAccount", user.id);
        throw new AppError("MFA_CHALLENGE_INVALID");
      }
      if (!(await checked.spend())) {
        await challenges.restore(claimed);
        return notCounted(input, attempt, "replay", claimed.attemptsLeft + 1);
      }
      await attempt.limits.reset("mfaAccount", user.id);
      return { user, method: amr };
    },
  };
}
