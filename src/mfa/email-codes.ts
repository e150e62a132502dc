import type { OtpConfig } from "../config/config.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { chargeSecondFactorSend } from "../flows/code-send-budget.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import { createCodeHasher, generateCode, isWellFormedCode } from "../otp/codes.ts";

export type SentCode = { codeHash: string; expiresAt: Date };

/**
 * Codes for the email second factor, made and checked by the one-time-code machinery (src/otp/codes.ts: OTP_LENGTH
 * digits, HMAC under AUTH_SECRET, constant-time comparison) with its lifetime (OTP_TTL), but with budgets of their
 * own: per account and per mfaToken, and per client IP (src/flows/code-send-budget.ts). Where the hash is kept is the caller's (the pending factor, or the mfaToken's row).
 */
export function createEmailCodes(deps: { config: OtpConfig; authSecret: string; mail: MailOutbox; now: () => Date }) {
  const { config, mail, now } = deps;
  const hasher = createCodeHasher(deps.authSecret);

  return {
    /**
     * Mails a new code to the user's address (for the mfaToken `challengeId`, or an enrolment: null); returns its
     * hash ("nonce.hmac") and expiry for the caller to keep.
     */
    async send(user: { id: string; email: string }, use: "sign-in" | "enrol", challengeId: string | null, attempt: Attempt): Promise<SentCode> {
      await chargeSecondFactorSend(attempt, user.id, challengeId);
      const to = user.email;
      const code = generateCode(config.length);
      const { nonce, codeHash } = hasher.hash(to, code);
      await mail.enqueue(mails.secondFactorCode(to, code, use, config.ttlSeconds));
      return { codeHash: `${nonce}.${codeHash}`, expiresAt: new Date(now().getTime() + config.ttlSeconds * 1000) };
    },

    matches(stored: string, to: string, code: string): boolean {
      const [nonce, codeHash] = stored.split(".");
      if (nonce === undefined || codeHash === undefined || !isWellFormedCode(code, config.length)) return false;
      return hasher.matches({ nonce, to, codeHash }, code);
    },
  };
}

export type EmailCodes = ReturnType<typeof createEmailCodes>;
