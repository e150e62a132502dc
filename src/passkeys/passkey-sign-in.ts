import type { WebAuthnConfig } from "../config/config.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { PasskeyInput, PasskeyStrategy } from "../flows/passkey-strategy.ts";
import type { Attempt, SignedIn, SignInFlow } from "../flows/sign-in-flow.ts";
import { assertionOptions } from "./ceremony-options.ts";
import type { WebAuthnChallenges } from "./webauthn-challenges.ts";

/**
 * Passwordless sign-in with a passkey: options over a challenge bound to "a sign-in" (no user yet, no
 * allowCredentials, so the browser offers every passkey of this RP, also in autofill), then the assertion proven
 * by the passkey strategy and the session issued by the sign-in flow, as every way in is.
 */
export function createPasskeySignIn(deps: {
  config: WebAuthnConfig;
  challenges: Pick<WebAuthnChallenges, "issue">;
  strategy: PasskeyStrategy;
  flow: Pick<SignInFlow, "signInProven">;
  audit: Pick<AuditLog, "record">;
}) {
  const { config, challenges, strategy, flow, audit } = deps;
  return {
    async options(attempt: Attempt) {
      // Each call stores a challenge: limited per client IP like the assertions it is for.
      await attempt.limits.consume("passkeyIp", attempt.audit.ipAddress);
      return assertionOptions(config, await challenges.issue({ kind: "login" }));
    },

    /** The session, then passkey.signed_in with it (a refused user, banned say, gets neither). */
    async verify(input: PasskeyInput, attempt: Attempt): Promise<SignedIn> {
      const { proofs, passkeyId } = await strategy.prove(input, attempt);
      const signedIn = await flow.signInProven(proofs, attempt);
      const event = { userId: signedIn.user.id, sessionId: signedIn.issued.session.id, payload: { passkeyId, factor: "first" } };
      await audit.record("passkey.signed_in", event, attempt.audit);
      return signedIn;
    },
  };
}

export type PasskeySignIn = ReturnType<typeof createPasskeySignIn>;
