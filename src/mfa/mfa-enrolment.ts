import QRCode from "qrcode";
import type { UserRow } from "../auth/users.ts";
import type { MfaConfig, OtpConfig } from "../config/config.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { SecondFactorType } from "../db/tables/mfa.ts";
import type { AuthenticatedSession, SessionService } from "../sessions/session-service.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import type { EmailCodes } from "./email-codes.ts";
import type { FactorStore } from "./factor-store.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";
import type { FirstFactors } from "./first-factors.ts";
import { createRecoveryCodeHasher, generateRecoveryCodes } from "./recovery-codes.ts";
import { generateTotpSecret, matchTotpStep, totpUri } from "./totp.ts";

export type MfaEnrolmentDeps = {
  factors: FactorStore;
  passkeys: Pick<PasskeyStore, "list">;
  firstFactors: FirstFactors;
  emailCodes: EmailCodes;
  totpBox: SecretBox;
  config: { mfa: MfaConfig; otp: Pick<OtpConfig, "ttlSeconds">; authSecret: string };
  sessions: Pick<SessionService, "addProof">;
  bus: Pick<RevocationBus, "publish">;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
  now: () => Date;
};

/** How each factor is named to its owner in mail. */
const FACTOR_NAMES: Record<SecondFactorType, string> = { totp: "An authenticator app", email: "A code sent by email" };

/**
 * Setting up and removing second factors, for the signed-in user. A factor is pending until a right code proves
 * it; confirming the first one hands out recovery codes. Every change is audited and mailed to the owner, and is
 * published on the bus so every instance's cached user (users.mfa_enabled, read by the sign-in flow and the
 * MFA_POLICY gate) is reloaded.
 */
export function createMfaEnrolment(deps: MfaEnrolmentDeps) {
  const { factors, passkeys, firstFactors, emailCodes, totpBox, config, sessions, bus, audit, mail, now } = deps;
  const hashRecoveryCode = createRecoveryCodeHasher(config.authSecret);

  /** Ten fresh codes and their hashes. */
  function newRecoveryCodes() {
    const codes = generateRecoveryCodes();
    return { codes, hashes: codes.map((code) => hashRecoveryCode(code.replaceAll("-", ""))) };
  }

  /** A wrong code at enrolment was already counted toward the account's second-factor lockout, as at sign-in. */
  async function refuseWrong(user: UserRow, type: SecondFactorType, attempt: Attempt): Promise<never> {
    await audit.record("mfa.failed", { userId: user.id, payload: { method: type, stage: "enrolment" } }, attempt.audit);
    throw new AppError("MFA_INVALID_CODE");
  }

  /** Email codes are a second factor only to a different first factor (not to a sign-in by mailed code). */
  async function assertEmailIsSecond(user: UserRow): Promise<void> {
    if (!(await firstFactors.hasOneBesidesEmail(user.id))) throw new AppError("MFA_FACTOR_NOT_SECOND");
  }

  /** The factor is confirmed: recovery codes if it is the first, the session raised, the user told. */
  async function confirmed({ user, session }: AuthenticatedSession, type: SecondFactorType, step: number | null, attempt: Attempt) {
    const fresh = newRecoveryCodes();
    const result = await factors.confirm(user.id, type, now(), step, fresh.hashes);
    if (result === null) throw new AppError("MFA_NO_PENDING_ENROLLMENT");
    await attempt.limits.reset("mfaAccount", user.id);
    await sessions.addProof(session, type === "totp" ? "otp" : "email");
    await bus.publish({ kind: "user", userId: user.id });
    await audit.record("mfa.enabled", { userId: user.id, payload: { method: type } }, attempt.audit);
    if (result.codesStored) await audit.record("mfa.recovery_codes_generated", { userId: user.id }, attempt.audit);
    await mail.enqueue(mails.secondFactorEnabled(user.email, FACTOR_NAMES[type]));
    return result.codesStored ? { recoveryCodes: fresh.codes } : {};
  }

  return {
    /** The confirmed factors; `webauthn` (one entry: the first passkey's creation, the latest use of any) when the user has passkeys. */
    async status(user: UserRow) {
      const rows = await factors.list(user.id);
      const keys = await passkeys.list(user.id);
      const iso = (date: Date | null) => date?.toISOString() ?? null;
      const lastKeyUse = keys.reduce<Date | null>((latest, key) => (key.lastUsedAt !== null && (latest === null || key.lastUsedAt > latest) ? key.lastUsedAt : latest), null);
      const [firstKey] = keys;
      return {
        methods: [
          ...rows.filter((row) => row.confirmedAt !== null).map((row) => ({ type: row.type, createdAt: row.createdAt.toISOString(), lastUsedAt: iso(row.lastUsedAt) })),
          ...(firstKey === undefined ? [] : [{ type: "webauthn" as const, createdAt: firstKey.createdAt.toISOString(), lastUsedAt: iso(lastKeyUse) }]),
        ],
        recoveryCodesLeft: await factors.recoveryCodesLeft(user.id),
        policy: config.mfa.policy,
      };
    },

    /**
     * A new pending TOTP secret (replacing a pending one), shown this once. Only for a verified address: otherwise
     * whoever registered someone else's address could lock its owner out of signing in by code.
     */
    async setupTotp(user: UserRow) {
      if (!user.emailVerified) throw new AppError("EMAIL_NOT_VERIFIED");
      const secret = generateTotpSecret();
      const saved = await factors.savePending(user.id, "totp", { sealedSecret: totpBox.seal(secret), pendingCodeHash: null, pendingCodeExpiresAt: null });
      if (!saved) throw new AppError("MFA_ALREADY_ENABLED");
      const otpauthUri = totpUri(secret, config.mfa.issuer, user.email);
      return { secret, otpauthUri, qrCodeSvg: await QRCode.toString(otpauthUri, { type: "svg", errorCorrectionLevel: "M" }) };
    },

    async confirmTotp(auth: AuthenticatedSession, code: string, attempt: Attempt) {
      const pending = await factors.find(auth.user.id, "totp");
      if (pending === null || pending.confirmedAt !== null || pending.sealedSecret === null) throw new AppError("MFA_NO_PENDING_ENROLLMENT");
      // Counted before the check, so that parallel guesses get no more checks than the lockout allows.
      await attempt.limits.consume("mfaAccount", auth.user.id);
      const step = matchTotpStep(totpBox.open(pending.sealedSecret), code, now().getTime());
      if (step === null) return refuseWrong(auth.user, "totp", attempt);
      return confirmed(auth, "totp", step, attempt);
    },

    /**
     * Mails a confirmation code to the verified address; the factor counts once the code comes back. Only for an
     * account that can sign in some other way (MFA_FACTOR_NOT_SECOND).
     */
    async enableEmail(user: UserRow, attempt: Attempt): Promise<void> {
      if (!user.emailVerified) throw new AppError("EMAIL_NOT_VERIFIED");
      await assertEmailIsSecond(user);
      const existing = await factors.find(user.id, "email");
      if (existing?.confirmedAt) throw new AppError("MFA_ALREADY_ENABLED");
      const sent = await emailCodes.send(user, "enrol", null, attempt);
      if (!(await factors.savePending(user.id, "email", { sealedSecret: null, pendingCodeHash: sent.codeHash, pendingCodeExpiresAt: sent.expiresAt }))) {
        throw new AppError("MFA_ALREADY_ENABLED");
      }
    },

    async confirmEmail(auth: AuthenticatedSession, code: string, attempt: Attempt) {
      const pending = await factors.find(auth.user.id, "email");
      if (pending === null || pending.confirmedAt !== null || pending.pendingCodeHash === null || pending.pendingCodeExpiresAt === null) {
        throw new AppError("MFA_NO_PENDING_ENROLLMENT");
      }
      if (pending.pendingCodeExpiresAt <= now()) throw new AppError("MFA_NO_PENDING_ENROLLMENT", { message: "The code has expired; enable again for a new one" });
      // The password may have gone since the code was mailed (an unverified account claimed by its address's owner).
      await assertEmailIsSecond(auth.user);
      await attempt.limits.consume("mfaAccount", auth.user.id);
      if (!emailCodes.matches(pending.pendingCodeHash, auth.user.email, code)) return refuseWrong(auth.user, "email", attempt);
      return confirmed(auth, "email", null, attempt);
    },

    /** Removes a factor; NOT_FOUND if the user has none of this type. */
    async remove(user: UserRow, type: SecondFactorType, attempt: Attempt): Promise<void> {
      const outcome = await factors.remove(user.id, type, config.mfa.policy === "required");
      if (outcome === "not-found") throw new AppError("NOT_FOUND", { message: "No such second factor" });
      if (outcome === "last-factor") throw new AppError("MFA_REQUIRED_BY_POLICY");
      if (outcome === "discarded") return;
      await bus.publish({ kind: "user", userId: user.id });
      await audit.record("mfa.disabled", { userId: user.id, payload: { method: type } }, attempt.audit);
      await mail.enqueue(mails.secondFactorRemoved(user.email, FACTOR_NAMES[type]));
    },

    /** Ten new recovery codes; the old ones stop working. */
    async regenerateRecoveryCodes(user: UserRow, attempt: Attempt): Promise<{ recoveryCodes: string[] }> {
      const fresh = newRecoveryCodes();
      if (!(await factors.replaceRecoveryCodes(user.id, fresh.hashes))) throw new AppError("MFA_NOT_ENABLED");
      await audit.record("mfa.recovery_codes_generated", { userId: user.id }, attempt.audit);
      return { recoveryCodes: fresh.codes };
    },
  };
}

export type MfaEnrolment = ReturnType<typeof createMfaEnrolment>;
