import { type RegistrationResponseJSON, verifyRegistrationResponse } from "@simplewebauthn/server";
import { decodeClientDataJSON, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { UserRow } from "../auth/users.ts";
import type { WebAuthnConfig } from "../config/config.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import { registrationOptions, SUPPORTED_ALGORITHMS } from "./ceremony-options.ts";
import type { PasskeyRow, PasskeyStore } from "./passkey-store.ts";
import { usableChallenge, type WebAuthnChallenges } from "./webauthn-challenges.ts";

export type PasskeyRegistrationDeps = {
  config: WebAuthnConfig;
  store: PasskeyStore;
  challenges: Pick<WebAuthnChallenges, "issue" | "consume">;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
};

/** WebAuthn Level 3 (credential ID): at most 1023 bytes; an authenticator making a longer one is not followed. */
const MAX_CREDENTIAL_ID_BYTES = 1023;

/** A name the owner did not choose: what the authenticator is, as far as the server can tell. */
const defaultName = (deviceType: PasskeyRow["deviceType"]) => (deviceType === "multiDevice" ? "Synced passkey" : "Security key");

/**
 * Adding a passkey to the signed-in user's account: options bound to this user (the route asks for a recent,
 * second-factor-proven session first), then the authenticator's response checked against the configured origins
 * and RP ID, with user verification required. The owner is mailed and the addition audited.
 */
export function createPasskeyRegistration({ config, store, challenges, audit, mail }: PasskeyRegistrationDeps) {
  async function refuse(user: UserRow, reason: string, context: AuditContext): Promise<never> {
    await audit.record("passkey.refused", { userId: user.id, payload: { reason, stage: "registration" } }, context);
    throw new AppError("WEBAUTHN_VERIFICATION_FAILED");
  }

  return {
    async options(user: UserRow) {
      const [handle, existing] = await Promise.all([store.userHandleOf(user.id), store.list(user.id)]);
      const challenge = await challenges.issue({ kind: "registration", userId: user.id });
      return registrationOptions(config, challenge, { handle, email: user.email, existing });
    },

    async verify(user: UserRow, response: RegistrationResponseJSON, name: string | undefined, context: AuditContext): Promise<PasskeyRow> {
      let challenge: string | null;
      try {
        challenge = usableChallenge(decodeClientDataJSON(response.response.clientDataJSON).challenge);
      } catch {
        challenge = null;
      }
      if (challenge === null) return refuse(user, "unreadable clientDataJSON", context);
      if (!(await challenges.consume(challenge, { kind: "registration", userId: user.id }))) {
        await audit.record("passkey.refused", { userId: user.id, payload: { reason: "challenge", stage: "registration" } }, context);
        throw new AppError("WEBAUTHN_CHALLENGE_INVALID");
      }
      let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verified = await verifyRegistrationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: config.origins,
          expectedRPID: config.rpId,
          requireUserVerification: true,
          supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
        });
      } catch (error) {
        return refuse(user, error instanceof Error ? error.message.slice(0, 200) : "verification", context);
      }
      if (!verified.verified) return refuse(user, "not verified", context);
      const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
      // The id stored is the one assertions will name: the client's, bounded like any id an authenticator may make.
      if (credential.id !== response.id) return refuse(user, "credential id differs from the response's", context);
      if (isoBase64URL.toBuffer(credential.id).length > MAX_CREDENTIAL_ID_BYTES) return refuse(user, "credential id too long", context);
      const passkey = await store
        .add({
          userId: user.id,
          credentialId: credential.id,
          publicKey: isoBase64URL.fromBuffer(credential.publicKey),
          counter: credential.counter,
          transports: credential.transports ?? [],
          backedUp: credentialBackedUp,
          deviceType: credentialDeviceType,
          name: name ?? defaultName(credentialDeviceType),
        })
        .catch((error: unknown) => (error instanceof AppError ? refuse(user, "credential registered already", context) : Promise.reject(error)));
      await audit.record("passkey.added", { userId: user.id, payload: { passkeyId: passkey.id, name: passkey.name, deviceType: passkey.deviceType } }, context);
      await mail.enqueue(mails.passkeyAdded(user.email, passkey.name));
      return passkey;
    },
  };
}

export type PasskeyRegistration = ReturnType<typeof createPasskeyRegistration>;
