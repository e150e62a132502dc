import type { CredentialService } from "../auth/credentials.ts";
import { AppError } from "../errors.ts";
import type { ProveSecondFactor, ReauthenticationFactor } from "../mfa/mfa-reauthentication.ts";
import type { AuditLog } from "../observability/audit.ts";
import { type OtpService, wrongCode } from "../otp/otp-service.ts";
import type { ChallengeState } from "../otp/sealed-state.ts";
import { isApiKeyAuthentication, provedTwoFactors } from "../sessions/assurance.ts";
import type { AuthenticatedSession, SessionInfo, SessionService } from "../sessions/session-service.ts";
import type { Attempt } from "./sign-in-flow.ts";

export type StepUpDeps = {
  credentials: CredentialService;
  sessions: SessionService;
  otp: Pick<OtpService, "open" | "verify">;
  audit: Pick<AuditLog, "record">;
  proveSecondFactor: ProveSecondFactor;
  /** STEP_UP_MAX_AGE: how old the last authentication of a session may be for a sensitive action. */
  maxAgeSeconds: number;
  now?: () => Date;
};

/** The password a sensitive action's body may carry, and the field it came in (for the validation message). */
export type PresentedPassword = { field: string; password: string | undefined };

/**
 * A factor proven again: the password, a code mailed to the account's address (purpose reauthenticate), or a
 * second factor (the authenticator app's code, a recovery code).
 */
export type Reauthentication =
  | { password: string }
  | { method: "email"; code: string; challenge?: string | undefined }
  | { method: ReauthenticationFactor; code: string };

/** The amr name a re-authentication is audited under. */
const auditedMethod = (proof: Reauthentication) => ("password" in proof ? "pwd" : proof.method === "email" ? "email" : "otp");

/**
 * Recent authentication for sensitive actions (RFC 9470's step-up): changing the password or the email, deleting
 * the account, ending the other sessions. The session's authTime (the last proof of a factor, read from the
 * cached session) must be younger than STEP_UP_MAX_AGE, or the action is refused with STEP_UP_REQUIRED until the
 * user re-authenticates, which moves authTime to now. Every wrong password or code given here counts toward the
 * account's login lockout (loginAccount), as a failed login does, and is audited.
 */
export function createStepUp({ credentials, sessions, otp, audit, proveSecondFactor, maxAgeSeconds, now = () => new Date() }: StepUpDeps) {
  /**
   * Only the user, signed in, takes a sensitive action. An administrator acting as the user (impersonation) proved
   * none of the user's factors; a personal API key proves none at all (and must not be able to mint itself a
   * session, a second factor or another key). Every sensitive check below starts here, so a route protected by
   * step-up refuses API keys without having to remember to: FORBIDDEN_FOR_API_KEY.
   */
  function assertOwnSession(session: SessionInfo): void {
    if (isApiKeyAuthentication(session)) throw new AppError("FORBIDDEN_FOR_API_KEY");
    if (session.impersonatorId !== null) throw new AppError("FORBIDDEN", { message: "An impersonation session cannot take sensitive actions" });
  }

  function assertRecent(session: SessionInfo): void {
    assertOwnSession(session);
    if (now().getTime() - session.authTime.getTime() > maxAgeSeconds * 1000) {
      throw new AppError("STEP_UP_REQUIRED", { extensions: { maxAge: maxAgeSeconds } });
    }
  }

  /**
   * Once the user has a second factor, changing factors or recovery codes needs a session that proved both (else
   * a stolen password would be enough to take the second factor over), as well as a recent authentication. The
   * refusal asks for aal2 (RFC 9470's acr_values); re-authenticating with the second factor raises the session.
   */
  function assertSecondFactorProven(auth: AuthenticatedSession): void {
    assertSessionProvedSecondFactor(auth);
    assertRecent(auth.session);
  }

  /** A user who has a second factor is on a session that proved it (whenever it was): else STEP_UP_REQUIRED for aal2. */
  function assertSessionProvedSecondFactor({ user, session }: AuthenticatedSession): void {
    if (isApiKeyAuthentication(session)) throw new AppError("FORBIDDEN_FOR_API_KEY");
    if (user.mfaEnabled && !provedTwoFactors(session.amr)) {
      throw new AppError("STEP_UP_REQUIRED", {
        message: "This needs a session that proved the second factor: re-authenticate with it",
        extensions: { maxAge: maxAgeSeconds, acrValues: "aal2" },
      });
    }
  }

  /**
   * authTime moves to now on every instance; a second factor proven again also joins the session's amr (and so
   * raises its aal). UNAUTHENTICATED if the session ended meanwhile.
   */
  async function renew(session: SessionInfo, secondFactor = false): Promise<SessionInfo> {
    const renewed = secondFactor ? await sessions.addProof(session, "otp") : await sessions.renewAuthentication(session.id);
    if (renewed === null) throw new AppError("UNAUTHENTICATED");
    return renewed;
  }

  const failed = ({ user, session }: AuthenticatedSession, method: string, attempt: Attempt) =>
    audit.record("session.reauthentication_failed", { userId: user.id, sessionId: session.id, payload: { method } }, attempt.audit);

  /** The password, checked as a login checks it: within the account's lockout, which a right one resets. */
  async function provePassword(auth: AuthenticatedSession, password: string, attempt: Attempt): Promise<void> {
    const { email } = auth.user;
    await attempt.limits.consume("loginAccount", email);
    try {
      await credentials.assertUserPassword(auth.user.id, password);
    } catch (error) {
      if (error instanceof AppError && error.code === "INVALID_CREDENTIALS") await failed(auth, "pwd", attempt);
      throw error;
    }
    await attempt.limits.reset("loginAccount", email);
  }

  /**
   * A code mailed to the user's address, with the one-time-code machinery's rules (single use, attempts, expiry).
   * A wrong code counts toward the address's code budget and the account's login lockout.
   */
  async function proveCode(auth: AuthenticatedSession, code: string, challenge: string | undefined, attempt: Attempt): Promise<void> {
    const { user } = auth;
    const { limits } = attempt;
    const state: ChallengeState = await otp.open(challenge);
    // Before the state is spent: another user's challenge, or another purpose's, is no attempt.
    if (state.purpose !== "reauthenticate" || state.userId !== user.id) throw new AppError("OTP_CHALLENGE_INVALID");
    const outcome = await otp
      .verify(state, code, {
        assertAvailable: async (to) => {
          await limits.assertBelow("loginAccount", user.email);
          await limits.assertBelow("otpVerifyAddress", to);
        },
        countWrong: async (to) => {
          await limits.consume("otpVerifyAddress", to);
          await limits.consume("loginAccount", user.email);
        },
      })
      .catch(async (error: unknown) => {
        if (error instanceof AppError && error.code === "OTP_TOO_MANY_ATTEMPTS") await failed(auth, "email", attempt);
        throw error;
      });
    if (outcome.status === "wrong") {
      const { next, attemptsLeft } = outcome;
      await failed(auth, "email", attempt);
      throw wrongCode(next, attemptsLeft);
    }
    await limits.reset("otpVerifyAddress", outcome.credential.to);
    await limits.reset("loginAccount", user.email);
    // The address may have changed since the code was mailed: a code to the old one proves nothing now.
    if (outcome.credential.to !== user.email) throw new AppError("OTP_CHALLENGE_INVALID", { message: "The address is no longer the user's" });
  }

  return {
    maxAgeSeconds,
    assertOwnSession,
    assertRecent,
    assertSecondFactorProven,
    assertSessionProvedSecondFactor,

    /**
     * Confirms a sensitive action whose body may carry the current password (the contract before step-up). A
     * presented password must be right and counts as a re-authentication. Without one, an account that has a
     * password must give it (VALIDATION_FAILED, as before), and an account without one (made by a sign-in code)
     * needs a recent authentication instead: its owner re-authenticates by code first.
     */
    async confirm(auth: AuthenticatedSession, presented: PresentedPassword, attempt: Attempt): Promise<void> {
      assertOwnSession(auth.session);
      if (presented.password !== undefined) {
        await provePassword(auth, presented.password, attempt);
        await renew(auth.session);
        return;
      }
      if (await credentials.hasPassword(auth.user.id)) {
        throw new AppError("VALIDATION_FAILED", { errors: [{ path: presented.field, message: "Required: the account's current password" }] });
      }
      assertRecent(auth.session);
    },

    /**
     * POST /auth/reauthenticate: the session with its authTime moved to now (and, by a second factor, its amr and
     * aal raised). A wrong password is INVALID_CREDENTIALS (PASSWORD_NOT_SET if the account has none); a wrong
     * mailed code OTP_INVALID_CODE with the challenge to try again with; a wrong second factor MFA_INVALID_CODE.
     */
    async reauthenticate(auth: AuthenticatedSession, proof: Reauthentication, attempt: Attempt): Promise<SessionInfo> {
      assertOwnSession(auth.session);
      if ("password" in proof) await provePassword(auth, proof.password, attempt);
      else if (proof.method === "email") await proveCode(auth, proof.code, proof.challenge, attempt);
      else await proveSecondFactor(auth, proof.method, proof.code, attempt);
      const session = await renew(auth.session, "method" in proof && proof.method !== "email");
      const payload = { method: auditedMethod(proof) };
      await audit.record("session.reauthenticated", { userId: auth.user.id, sessionId: session.id, payload }, attempt.audit);
      return session;
    },
  };
}

export type StepUp = ReturnType<typeof createStepUp>;
