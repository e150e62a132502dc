import { AppError } from "../errors.ts";
import { resendTooSoon } from "../otp/otp-service.ts";
import type { Attempt } from "./sign-in-flow.ts";

/**
 * What mailing a one-time code costs: the client's budget, one code per address per OTP_RESEND_DELAY across
 * challenges (too soon is OTP_RESEND_TOO_SOON, as on resend), and the address's total. Charged only once a code will be made, and whether or not the address has an account (or the
 * budgets would tell).
 */
export async function chargeCodeSend({ limits, audit }: Attempt, to: string): Promise<void> {
  await limits.consume("otpSendIp", audit.ipAddress);
  try {
    await limits.consume("otpSendDelay", to);
  } catch (error) {
    if (!(error instanceof AppError && error.code === "RATE_LIMITED")) throw error;
    throw resendTooSoon((error.retryAfterSeconds ?? 1) * 1000);
  }
  await limits.consume("otpSendAddress", to);
}

/**
 * What mailing a second-factor code costs: the client's budget, as for any code, and the account's own (keyed by the
 * user id) and the mfaToken's, never the address's: those anyone who knows the address can spend, and would so block
 * the owner's email second factor.
 */
export async function chargeSecondFactorSend({ limits, audit }: Attempt, userId: string, challengeId: string | null): Promise<void> {
  await limits.consume("otpSendIp", audit.ipAddress);
  await limits.consume("mfaSendAccount", userId);
  if (challengeId !== null) await limits.consume("mfaSendToken", challengeId);
}
