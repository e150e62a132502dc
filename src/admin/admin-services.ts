import type { CredentialService } from "../auth/credentials.ts";
import type { PasswordReset } from "../auth/password-reset.ts";
import type { VerificationTokens } from "../auth/verification-tokens.ts";
import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";
import type { FactorStore } from "../mfa/factor-store.ts";
import type { Registration } from "../flows/registration.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { ApiKeys } from "../machine/api-keys.ts";
import { createAdminSessions } from "./admin-sessions.ts";
import { createAdminUsers } from "./admin-users.ts";
import { createImpersonation } from "./impersonation.ts";
import { createSecondFactorReset } from "./second-factor-reset.ts";
import { createUserBans } from "./user-bans.ts";
import { createUserDirectory } from "./user-directory.ts";

export type AdminServiceDeps = {
  config: AppConfig;
  db: Database;
  bus: RevocationBus;
  sessions: SessionService;
  audit: AuditLog;
  registration: Registration;
  credentials: CredentialService;
  passwordReset: PasswordReset;
  tokens: VerificationTokens;
  mail: MailOutbox;
  factors: FactorStore;
  passkeys: Pick<PasskeyStore, "countOf">;
  apiKeys: Pick<ApiKeys, "revokeAllFor">;
  now: () => Date;
};

/** The services behind /auth/admin and the CLI's role commands. */
export function createAdminServices(deps: AdminServiceDeps) {
  const { config, db, bus, sessions, audit, now } = deps;
  return {
    /** The clock a temporary ban is read against (tests move it). */
    now,
    directory: createUserDirectory({ db, sessions, factors: deps.factors, passkeys: deps.passkeys, now }),
    users: createAdminUsers({
      db,
      bus,
      audit,
      now,
      registration: deps.registration,
      passwordReset: deps.passwordReset,
      tokens: deps.tokens,
      mail: deps.mail,
      resetLink: config.links.resetPassword,
      // An invitation waits for its reader longer than a reset link: a day, like a verification link.
      invitationTtlSeconds: config.account.verifyTokenTtlSeconds,
    }),
    bans: createUserBans({ db, bus, audit, now }),
    resetSecondFactors: createSecondFactorReset({ db, factors: deps.factors, apiKeys: deps.apiKeys, bus, audit, mail: deps.mail }),
    sessions: createAdminSessions({ db, sessions, apiKeys: deps.apiKeys, audit }),
    impersonation: createImpersonation({
      db,
      sessions,
      audit,
      assertMaySignIn: (user) => deps.credentials.assertMaySignIn(user),
      ttlSeconds: config.admin.impersonationTtlSeconds,
    }),
  };
}

export type AdminServices = ReturnType<typeof createAdminServices>;
