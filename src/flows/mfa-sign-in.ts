import type { CredentialService } from "../auth/credentials.ts";
import { findUserById } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { WebAuthnConfig } from "../config/config.ts";
import type { EmailCodes } from "../mfa/email-codes.ts";
import type { MfaChallenges } from "../mfa/mfa-challenges.ts";
import { methodsFor, type SecondFactorSources } from "../mfa/second-factor-gate.ts";
import { assertionOptions } from "../passkeys/ceremony-options.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";
import type { WebAuthnChallenges } from "../passkeys/webauthn-challenges.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import type { SecondFactorInput, SecondFactorProof } from "./second-factor-strategy.ts";
import type { Attempt, Proof, SignedIn, SignInFlow, Strategy } from "./sign-in-flow.ts";

export type MfaSignInDeps = {
  db: Database;
  flow: Pick<SignInFlow, "issue">;
  challenges: MfaChallenges;
  sources: SecondFactorSources;
  webauthn: { config: WebAuthnConfig; challenges: Pick<WebAuthnChallenges, "issue">; passkeys: Pick<PasskeyStore, "list"> };
  emailCodes: Pick<EmailCodes, "send">;
  strategy: Strategy<SecondFactorInput>;
  credentials: Pick<CredentialService, "hasPassword">;
};

/**
 * The second half of a sign-in that answered MFA_REQUIRED: an emailed code on request, then the second factor,
 * proven by its strategy, and the session issued with both proofs (so amr, aal and authTime say what was proven).
 */
export function createMfaSignIn({ db, flow, challenges, sources, webauthn, emailCodes, strategy, credentials }: MfaSignInDeps) {
  /** The live challenge and its user; MFA_CHALLENGE_INVALID for an unknown, used, expired or burned mfaToken. */
  async function open(mfaToken: string) {
    const challenge = await challenges.find(mfaToken);
    const user = challenge === null ? undefined : await findUserById(db, challenge.userId);
    if (challenge === null || user === undefined) throw new AppError("MFA_CHALLENGE_INVALID");
    return { challenge, user };
  }

  return {
    /** POST /auth/mfa/challenge: mails a code for this mfaToken (replacing an earlier one), if email is offered. */
    async sendEmailCode(mfaToken: string, attempt: Attempt): Promise<void> {
      await attempt.limits.consume("mfaVerifyIp", attempt.audit.ipAddress);
      const { challenge, user } = await open(mfaToken);
      if (!(await methodsFor(sources, user, challenge.firstMethod)).includes("email")) {
        throw new AppError("MFA_CHALLENGE_INVALID", { message: "Email codes cannot finish this sign-in" });
      }
      const sent = await emailCodes.send(user, "sign-in", challenge.id, attempt);
      await challenges.saveEmailCode(challenge.id, sent.codeHash, sent.expiresAt);
    },

    /**
     * POST /auth/mfa/webauthn/options: request options for the user's own credentials, over a challenge bound to this
     * mfaToken (no other sign-in, and no passwordless one, can use it).
     */
    async webauthnOptions(mfaToken: string, attempt: Attempt) {
      await attempt.limits.consume("passkeyIp", attempt.audit.ipAddress);
      const { challenge, user } = await open(mfaToken);
      const passkeys = await webauthn.passkeys.list(user.id);
      if (passkeys.length === 0) throw new AppError("MFA_CHALLENGE_INVALID", { message: "No passkey can finish this sign-in" });
      const issued = await webauthn.challenges.issue({ kind: "mfa", mfaChallengeId: challenge.id });
      return assertionOptions(webauthn.config, issued, passkeys);
    },

    /** POST /auth/mfa/verify: the second factor (its strategy claims the mfaToken); the session as any sign-in answers it. */
    async verify(mfaToken: string, proof: SecondFactorProof, attempt: Attempt): Promise<SignedIn> {
      await attempt.limits.consume("mfaVerifyIp", attempt.audit.ipAddress);
      const { challenge, user } = await open(mfaToken);
      const second = await strategy.prove({ challenge, user, ...proof }, attempt);
      const firstMethod = challenge.firstMethod as AuthMethod;
      // A password may have been taken away since it was proven (an unverified account claimed by its address's owner).
      const first: Proof = firstMethod === "pwd" ? { user, method: firstMethod, stillEntitled: () => credentials.hasPassword(user.id) } : { user, method: firstMethod };
      const via = firstMethod === "email" ? { via: "otp" } : {};
      return flow.issue([first, second], attempt, { type: "login.succeeded", payload: { ...via, secondFactor: proof.method } });
    },
  };
}

export type MfaSignIn = ReturnType<typeof createMfaSignIn>;
