import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Composers } from "../outbox/compose-channel.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { CredentialService, NewUserInput } from "./credentials.ts";
import type { EmailVerification } from "./email-verification.ts";
import type { PasswordReset } from "./password-reset.ts";
import { findUserByEmail } from "./users.ts";

export type AddressRequestDeps = {
  db: Database;
  credentials: CredentialService;
  emailVerification: EmailVerification;
  passwordReset: Pick<PasswordReset, "message">;
  audit: Pick<AuditLog, "recordIn">;
  mail: Pick<MailOutbox, "compose">;
};

/** The requests below as the outbox keeps them until they are composed (sealed: they name an address). */
export type AddressIntent =
  | { type: "registration"; email: string; passwordHash: string; context: AuditContext }
  | { type: "verification-resend"; email: string; context: AuditContext }
  | { type: "password-reset"; email: string; context: AuditContext };

/**
 * Requests about an address whose answer must not tell whether the address has an account. Each one only writes
 * its intent (MailOutbox.compose), so the request does the same for every address: no lookup, token or audit write
 * on its time that an attacker could count or time. What the address decides is done by `composers`, in the
 * outbox's compose lane, after the answer. A composer may run twice for one intent (its lease ended); what it
 * returns is written once, with the intent's settling, and what it does on its way (a token, a user) is safe to repeat.
 */
export function createAddressRequests({ db, credentials, emailVerification, passwordReset, audit, mail }: AddressRequestDeps) {
  const composers: Composers<AddressIntent> = {
    // A second run finds the account the first made (its hash is this intent's) and mails a fresh link.
    async registration({ email, passwordHash, context }) {
      const registration = await credentials.registerWithPasswordHash(email, passwordHash);
      if (registration.status === "email-taken") {
        const { owner } = registration;
        return { mail: mails.registrationAttempted(owner.email), alsoWrite: (tx) => audit.recordIn(tx, "user.registration_attempted", { userId: owner.id }, context) };
      }
      const { user } = registration;
      return { mail: await emailVerification.message(user), alsoWrite: (tx) => audit.recordIn(tx, "user.registered", { userId: user.id }, context) };
    },

    async "verification-resend"({ email, context }) {
      const user = await findUserByEmail(db, email);
      if (user === undefined || user.emailVerified || user.deletionScheduledAt !== null) return { mail: null };
      return { mail: await emailVerification.message(user), alsoWrite: (tx) => audit.recordIn(tx, "email.verification_sent", { userId: user.id }, context) };
    },

    // The owner's trail shows the request; an unknown address's request is audited too, without a user.
    async "password-reset"({ email, context }) {
      const owner = await findUserByEmail(db, email);
      return {
        mail: owner === undefined ? null : await passwordReset.message(owner),
        alsoWrite: (tx) => audit.recordIn(tx, "password.reset_requested", { userId: owner?.id ?? null, payload: { email } }, context),
      };
    },
  };

  return {
    /**
     * REQUIRE_EMAIL_VERIFICATION's sign-up: a free address gets an unverified account and a verification mail, a
     * taken one a warning to its owner and nothing else. The password is hashed here, for every address alike, so
     * the intent never holds it. No username: it would be taken afterwards exactly when the address was free, which
     * anyone could then ask (another registration, a profile change); it is set once the address is verified
     * (PUT /auth/me).
     */
    async register(input: NewUserInput, context: AuditContext): Promise<void> {
      if (input.username !== undefined) {
        throw new AppError("VALIDATION_FAILED", {
          errors: [{ path: "username", message: "choose a username once your address is confirmed (PUT /auth/me)" }],
        });
      }
      const passwordHash = await credentials.hashPassword(input.password);
      await mail.compose<AddressIntent>({ type: "registration", email: input.email, passwordHash, context });
    },

    /** A new verification link, if the address belongs to an unverified account that is not being deleted. */
    async resendVerification(email: string, context: AuditContext): Promise<void> {
      await mail.compose<AddressIntent>({ type: "verification-resend", email, context });
    },

    /** A reset link if the address has an account. */
    async requestPasswordReset(email: string, context: AuditContext): Promise<void> {
      await mail.compose<AddressIntent>({ type: "password-reset", email, context });
    },

    composers,
  };
}

export type AddressRequests = ReturnType<typeof createAddressRequests>;
