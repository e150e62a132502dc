import type { EmailVerification } from "../auth/email-verification.ts";
import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import { continuationOf, type IssuedChallenge, type OtpPurpose, type OtpService, wrongCode } from "../otp/otp-service.ts";
import type { ChallengeState } from "../otp/sealed-state.ts";
import { chargeCodeSend } from "./code-send-budget.ts";
import type { EmailCodeInput } from "./email-code-strategy.ts";
import type { Attempt, SignedIn, SignInFlow, Strategy } from "./sign-in-flow.ts";

/** The signed-in user, asked for only where a purpose needs one (it throws UNAUTHENTICATED without). */
export type CurrentUser = () => Promise<UserRow>;

export type CodeVerified = { purpose: "verify-email"; user: UserRow } | { purpose: "sign-in"; signedIn: SignedIn };

export type CodeChallengesDeps = {
  otp: OtpService;
  emailVerification: Pick<EmailVerification, "markVerified">;
  audit: Pick<AuditLog, "record">;
  signInFlow: Pick<SignInFlow, "signInProven">;
  emailCodeStrategy: Strategy<EmailCodeInput>;
};

/**
 * The one-time-code flows over the sealed challenge (src/otp/): mailing a code, mailing another, and checking one
 * to sign in or to verify the signed-in user's address. The send budgets, the address's budget of wrong codes,
 * the registration budget of a sign-up by code and the audit trail are applied here, so the handlers only move the
 * challenge between body, cookie and answer. (A re-authentication code is checked by src/flows/step-up.ts.)
 */
export function createCodeChallenges({ otp, emailVerification, audit, signInFlow, emailCodeStrategy }: CodeChallengesDeps) {
  /**
   * The registration budget, for a sign-up by code. Only reached after a right code (checking earlier would tell
   * which addresses have accounts), so a refusal hands back the challenge under a fresh id: the code stays good
   * for a retry after Retry-After.
   */
  async function chargeSignUp({ limits, audit: context }: Attempt, state: ChallengeState): Promise<void> {
    try {
      await limits.consume("registerIp", context.ipAddress);
    } catch (error) {
      if (!(error instanceof AppError && error.code === "RATE_LIMITED")) throw error;
      throw new AppError("RATE_LIMITED", {
        ...continuationOf(await otp.reissue(state)),
        ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
        ...(error.rateLimit ? { rateLimit: error.rateLimit } : {}),
        cause: error.cause,
      });
    }
  }

  async function recordSent(issued: IssuedChallenge & { sent: boolean }, resend: boolean, attempt: Attempt) {
    const { userId, purpose } = issued.state;
    await audit.record("otp.sent", { userId, payload: { purpose, mailed: issued.sent, resend } }, attempt.audit);
  }

  /** The state the client presented; OTP_TOO_MANY_ATTEMPTS (the challenge burned) is audited on the way out. */
  async function verifyAgainstAddress(state: ChallengeState, code: string, attempt: Attempt) {
    const { limits } = attempt;
    try {
      // Wrong codes count against the address, whichever challenge they come with.
      return await otp.verify(state, code, {
        assertAvailable: (to) => limits.assertBelow("otpVerifyAddress", to),
        countWrong: (to) => limits.consume("otpVerifyAddress", to),
      });
    } catch (error) {
      if (error instanceof AppError && error.code === "OTP_TOO_MANY_ATTEMPTS") await audit.record("otp.burned", {}, attempt.audit);
      throw error;
    }
  }

  return {
    /**
     * Mails a code to `to`: a new challenge, or one more address in the presented one. verify-email and
     * reauthenticate codes go only to the signed-in user's own address.
     */
    async create(
      input: { to: string; purpose: OtpPurpose; challenge: string | undefined },
      attempt: Attempt,
      currentUser: CurrentUser,
    ): Promise<IssuedChallenge> {
      let userId: string | null = null;
      if (input.purpose !== "sign-in") {
        const user = await currentUser();
        if (user.email !== input.to) {
          throw new AppError("VALIDATION_FAILED", { errors: [{ path: "to", message: "Must be the signed-in user's email address" }] });
        }
        userId = user.id;
      }
      // A challenge that cannot be continued (spent, damaged, expired) is no reason to refuse a new one.
      const continuing = await otp.open(input.challenge).catch(() => null);
      const issued = await otp.create({ to: input.to, purpose: input.purpose, userId }, continuing, (to) => chargeCodeSend(attempt, to));
      await recordSent(issued, false, attempt);
      return issued;
    },

    /** A new code for the presented challenge's current address. */
    async resend(challenge: string | undefined, attempt: Attempt): Promise<IssuedChallenge> {
      const state = await otp.open(challenge);
      const issued = await otp.resend(state, (to) => chargeCodeSend(attempt, to));
      await recordSent(issued, true, attempt);
      return issued;
    },

    /**
     * Checks a sign-in or verify-email code. A wrong one is OTP_INVALID_CODE with the challenge to try again with;
     * a right sign-in code signs in through the flow (with its account claim and, with OTP_SIGNUP, its sign-up).
     */
    async verify(input: { code: string; challenge: string | undefined }, attempt: Attempt, currentUser: CurrentUser): Promise<CodeVerified> {
      await attempt.limits.consume("otpVerifyIp", attempt.audit.ipAddress);
      const state = await otp.open(input.challenge);
      // Before the state is spent: a missing session is no attempt.
      if (state.purpose === "verify-email" && (await currentUser()).id !== state.userId) throw new AppError("OTP_CHALLENGE_INVALID");
      if (state.purpose === "reauthenticate") {
        throw new AppError("OTP_CHALLENGE_INVALID", { message: "A re-authentication code is answered at POST /auth/reauthenticate" });
      }
      const outcome = await verifyAgainstAddress(state, input.code, attempt);
      if (outcome.status === "wrong") {
        const { next, attemptsLeft } = outcome;
        await audit.record("otp.failed", { userId: state.userId, payload: { purpose: state.purpose, attemptsLeft } }, attempt.audit);
        throw wrongCode(next, attemptsLeft);
      }
      const { to } = outcome.credential;
      await attempt.limits.reset("otpVerifyAddress", to);
      if (state.purpose === "verify-email") {
        const user = await emailVerification.markVerified(state.userId ?? "", to);
        if (user === null) throw new AppError("OTP_CHALLENGE_INVALID", { message: "The address is no longer the user's" });
        await audit.record("otp.verified", { userId: user.id, payload: { purpose: state.purpose } }, attempt.audit);
        await audit.record("email.verified", { userId: user.id, payload: { email: to } }, attempt.audit);
        return { purpose: "verify-email", user };
      }
      const proof = await emailCodeStrategy.prove({ to, beforeSignUp: () => chargeSignUp(attempt, state) }, attempt);
      await audit.record("otp.verified", { userId: proof.user.id, payload: { purpose: state.purpose } }, attempt.audit);
      return { purpose: "sign-in", signedIn: await signInFlow.signInProven([proof], attempt) };
    },
  };
}

export type CodeChallenges = ReturnType<typeof createCodeChallenges>;
