import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { findUserById } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { AssertionVerifier } from "../passkeys/assertions.ts";
import type { Attempt, Proof } from "./sign-in-flow.ts";

export type PasskeyInput = { response: AuthenticationResponseJSON };

/** The proofs a passkey's assertion makes, and which passkey made them (for the audit trail). */
export type PasskeyProof = { proofs: Proof[]; passkeyId: string };

/**
 * A passkey as the first factor (discoverable: the credential names the account, no email is typed). An assertion
 * made with user verification proves two factors at once: the key (`hwk`, or `swk` for a synced passkey) and the
 * PIN or biometric the authenticator checked (`user`), so the flow issues it at aal 2 and asks for no second
 * factor. Unknown credentials, bad signatures, wrong origins or RP IDs all answer INVALID_CREDENTIALS alike.
 */
export function createPasskeyStrategy(deps: { db: Database; assertions: AssertionVerifier }) {
  const { db, assertions } = deps;
  return {
    async prove({ response }: PasskeyInput, attempt: Attempt): Promise<PasskeyProof> {
      const assertion = await assertions.verify(response, { kind: "login" }, attempt);
      if (!assertion.ok || !(await assertion.accept())) throw new AppError("INVALID_CREDENTIALS");
      const user = await findUserById(db, assertion.passkey.userId);
      if (user === undefined) throw new AppError("INVALID_CREDENTIALS");
      const proofs: Proof[] = [
        { user, method: assertion.method, via: "passkey" },
        { user, method: "user" },
      ];
      return { proofs, passkeyId: assertion.passkey.id };
    },
  };
}

export type PasskeyStrategy = ReturnType<typeof createPasskeyStrategy>;
