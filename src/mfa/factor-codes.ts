import type { UserRow } from "../auth/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { Logger } from "../observability/logger.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import type { FactorStore } from "./factor-store.ts";
import { createRecoveryCodeHasher, normalizeRecoveryCode } from "./recovery-codes.ts";
import { matchTotpStep } from "./totp.ts";

/**
 * A code checked without being spent. "match": it is right; `spend` uses it up (the TOTP step, the recovery code)
 * and is false if that was done meanwhile (a replayed code, a recovery code used concurrently), which does not
 * count as a wrong code. "unusable": the sealed secret cannot be opened (AUTH_SECRET was changed): no code can be
 * checked, so none is counted as wrong.
 */
export type CheckedCode = { status: "match"; spend: () => Promise<boolean> } | { status: "wrong" } | { status: "unusable" };

/**
 * Checking a confirmed factor's code, wherever one is presented (finishing a sign-in, re-authenticating). Checking
 * and spending are separate so that a caller can claim what the code is for (an mfaToken) in between. Spending is
 * one conditional UPDATE: each TOTP step, and each recovery code, is accepted once, also under concurrent requests.
 * A used recovery code is audited and mailed to the owner.
 */
export function createFactorCodes(deps: {
  factors: FactorStore;
  totpBox: SecretBox;
  authSecret: string;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
  logger: Logger;
  now: () => Date;
}) {
  const { factors, totpBox, audit, mail, logger, now } = deps;
  const hashRecoveryCode = createRecoveryCodeHasher(deps.authSecret);

  return {
    async totp(user: UserRow, code: string): Promise<CheckedCode> {
      const factor = await factors.find(user.id, "totp");
      if (factor?.confirmedAt == null || factor.sealedSecret === null) return { status: "wrong" };
      let secret: string;
      try {
        secret = totpBox.open(factor.sealedSecret);
      } catch (error) {
        logger.error({ err: error, userId: user.id }, "a TOTP secret cannot be opened (was AUTH_SECRET changed?); the user needs another factor or an admin reset of the factors");
        return { status: "unusable" };
      }
      const at = now();
      const step = matchTotpStep(secret, code, at.getTime());
      if (step === null) return { status: "wrong" };
      return { status: "match", spend: () => factors.acceptTotpStep(user.id, step, at) };
    },

    /** One of the user's unused recovery codes; spending it audits the use and mails the owner. */
    async recoveryCode(user: UserRow, code: string, context: AuditContext): Promise<CheckedCode> {
      const normalized = normalizeRecoveryCode(code);
      const codeHash = normalized === null ? null : hashRecoveryCode(normalized);
      if (codeHash === null || !(await factors.hasUnusedRecoveryCode(user.id, codeHash))) return { status: "wrong" };
      return {
        status: "match",
        spend: async () => {
          if (!(await factors.useRecoveryCode(user.id, codeHash, now()))) return false;
          const left = await factors.recoveryCodesLeft(user.id);
          await audit.record("mfa.recovery_code_used", { userId: user.id, payload: { left } }, context);
          await mail.enqueue(mails.recoveryCodeUsed(user.email, left));
          return true;
        },
      };
    },
  };
}

export type FactorCodes = ReturnType<typeof createFactorCodes>;
