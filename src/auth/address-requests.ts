import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
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
  passwordReset: PasswordReset;
  audit: AuditLog;
  mail: MailOutbox;
};

/**
 * Requests about an address whose answer must not tell whether the address has an account. Each one only queues
 * its work (MailOutbox.compose), so the request does the same for every address: no lookup, hash, token or audit
 * write on its time that an attacker could count or time. What the address decides happens after the answer.
 */
export function createAddressRequests({ db, credentials, emailVerification, passwordReset, audit, mail }: AddressRequestDeps) {
  return {
    /**
     * REQUIRE_EMAIL_VERIFICATION's sign-up: a free address gets an unverified account and a verification mail, a
     * taken one a warning to its owner and nothing else. No username: it would be taken afterwards exactly when the
     * address was free, which anyone could then ask (another registration, a profile change); it is set once the
     * address is verified (PUT /auth/me).
     */
    register(input: NewUserInput, context: AuditContext): void {
      if (input.username !== undefined) {
        throw new AppError("VALIDATION_FAILED", {
          errors: [{ path: "username", message: "choose a username once your address is confirmed (PUT /auth/me)" }],
        });
      }
      mail.compose(async () => {
        const registration = await credentials.registerConcealingTakenEmail(input);
        if (registration.status === "email-taken") {
          await audit.record("user.registration_attempted", { userId: registration.owner.id }, context);
          return mails.registrationAttempted(registration.owner.email);
        }
        await audit.record("user.registered", { userId: registration.user.id }, context);
        return emailVerification.message(registration.user);
      });
    },

    /** A new verification link, if the address belongs to an unverified account that is not being deleted. */
    resendVerification(email: string, context: AuditContext): void {
      mail.compose(async () => {
        const user = await findUserByEmail(db, email);
        if (user === undefined || user.emailVerified || user.deletionScheduledAt !== null) return null;
        await audit.record("email.verification_sent", { userId: user.id }, context);
        return emailVerification.message(user);
      });
    },

    /** A reset link if the address has an account (Better-Auth's hook queues it); the owner's trail shows the request. */
    requestPasswordReset(email: string, context: AuditContext): void {
      mail.compose(async () => {
        await passwordReset.request(email);
        const owner = await findUserByEmail(db, email);
        await audit.record("password.reset_requested", { userId: owner?.id ?? null, payload: { email } }, context);
        return null;
      });
    },
  };
}

export type AddressRequests = ReturnType<typeof createAddressRequests>;
