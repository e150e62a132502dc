import type { WebAuthnConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { createPasskeyStrategy } from "../flows/passkey-strategy.ts";
import type { SignInFlow } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import { createAssertionVerifier } from "./assertions.ts";
import { createPasskeyManagement } from "./passkey-management.ts";
import { createPasskeyRegistration } from "./passkey-registration.ts";
import { createPasskeySignIn } from "./passkey-sign-in.ts";
import { createPasskeyStore } from "./passkey-store.ts";
import { createWebAuthnChallenges } from "./webauthn-challenges.ts";

/**
 * Passkeys' services, wired. Built before the sign-in flow (whose second-factor step offers passkeys); the
 * passwordless sign-in, which ends in that flow, is made from it afterwards with `signInThrough`.
 */
export function createPasskeys(deps: { config: WebAuthnConfig; db: Database; audit: Pick<AuditLog, "record">; mail: MailOutbox; now: () => Date }) {
  const { config, db, audit, mail, now } = deps;
  const store = createPasskeyStore(db);
  const challenges = createWebAuthnChallenges(db, now);
  const assertions = createAssertionVerifier({ config, store, challenges, audit, now });
  return {
    store,
    challenges,
    assertions,
    registration: createPasskeyRegistration({ config, store, challenges, audit, mail }),
    management: createPasskeyManagement({ store, audit, mail }),
    /** What POST /auth/mfa/webauthn/options needs: options over the user's own keys. */
    secondFactorOptions: { config, challenges, passkeys: store },
    signInThrough: (flow: Pick<SignInFlow, "signInProven">) =>
      createPasskeySignIn({ config, challenges, strategy: createPasskeyStrategy({ db, assertions }), flow, audit }),
  };
}

export type Passkeys = ReturnType<typeof createPasskeys>;
