import { AppError, type ErrorCode } from "../errors.ts";
import type { OtpCookie } from "./cookies.ts";

/** After these the presented challenge is spent or of no further use: its cookie goes. */
const SPENDS_CHALLENGE = new Set<ErrorCode>([
  "OTP_CHALLENGE_INVALID",
  "OTP_TOO_MANY_ATTEMPTS",
  // A right sign-in code that did not end in a session: the challenge is spent all the same.
  "ACCOUNT_PENDING_DELETION",
  "EMAIL_NOT_VERIFIED",
  "MFA_REQUIRED",
]);

/**
 * Keeps a browser's challenge cookie in step with a one-time-code request that failed: the challenge a refusal
 * hands back (the next state after a wrong code) replaces it, and a spent or dead one is cleared. API clients read
 * the same challenge from the problem's `challenge` member.
 */
export function createChallengeCookieGuard(otpCookie: OtpCookie) {
  return async function guardChallengeCookie<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { nextChallenge } = error;
      if (nextChallenge !== undefined) throw error.withHeaders({ "Set-Cookie": otpCookie.serialize(nextChallenge.challenge, nextChallenge.expiresAt) });
      if (SPENDS_CHALLENGE.has(error.code)) throw error.withHeaders({ "Set-Cookie": otpCookie.cleared() });
      throw error;
    }
  };
}

