import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { MfaChallenges } from "../mfa/mfa-challenges.ts";
import type { ApiKeys } from "../machine/api-keys.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthenticatedSession, SessionService } from "../sessions/session-service.ts";
import type { CredentialService } from "./credentials.ts";
import type { PasswordPolicy } from "./password-policy.ts";

export type PasswordChangeDeps = {
  credentials: CredentialService;
  stepUp: StepUp;
  sessions: SessionService;
  mfaChallenges: Pick<MfaChallenges, "revokeAll">;
  apiKeys: Pick<ApiKeys, "revokeAllFor">;
  passwordPolicy: PasswordPolicy;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
};

export type PasswordChangeInput = { currentPassword?: string | undefined; newPassword: string; revokeOtherSessions?: boolean | undefined };

/**
 * The signed-in user's password change, confirmed as every sensitive action is (src/flows/step-up.ts): with the
 * current password, or, for an account that has none yet (made by a sign-in code), by a recent authentication,
 * which is how such an account sets its first password. The owner's address is told either way. The new
 * password is held to the policy first, so a refused one costs no attempt against the account's lockout.
 */
export function createPasswordChange({ credentials, stepUp, sessions, mfaChallenges, apiKeys, passwordPolicy, audit, mail }: PasswordChangeDeps) {
  return async function changePassword(auth: AuthenticatedSession, input: PasswordChangeInput, attempt: Attempt): Promise<void> {
    const { user, session } = auth;
    await passwordPolicy.assertAcceptable(input.newPassword, { email: user.email, field: "newPassword" });
    await stepUp.confirm(auth, { field: "currentPassword", password: input.currentPassword }, attempt);
    await credentials.setPassword(user.id, input.newPassword);
    // An mfaToken minted with the old password must not finish a sign-in after it changed.
    await mfaChallenges.revokeAll(user.id);
    const revokeOtherSessions = input.revokeOtherSessions === true;
    if (revokeOtherSessions) {
      // "Sign out everywhere else" is how a user takes the account back: a key made meanwhile goes too.
      await sessions.revokeAll(user.id, session.id);
      await apiKeys.revokeAllFor(user.id, { reason: "password_changed" }, attempt.audit);
    }
    await mail.enqueue(mails.passwordChanged(user.email));
    await audit.record("password.changed", { userId: user.id, sessionId: session.id, payload: { revokeOtherSessions: input.revokeOtherSessions } }, attempt.audit);
  };
}

export type ChangePassword = ReturnType<typeof createPasswordChange>;
