import { type AuthenticationResponseJSON, verifyAuthenticationResponse } from "@simplewebauthn/server";
import { decodeClientDataJSON, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { WebAuthnConfig } from "../config/config.ts";
import { AppError } from "../errors.ts";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import type { PasskeyRow, PasskeyStore } from "./passkey-store.ts";
import { type CeremonyFlow, usableChallenge, type WebAuthnChallenges } from "./webauthn-challenges.ts";

/** What a sign-in with a passkey proves, besides the user's verification: a device-bound key, or a synced one. */
export type KeyMethod = Extract<AuthMethod, "hwk" | "swk">;

/**
 * An assertion whose signature, origin, RP ID and user verification passed. `accept` records it (the counter, the
 * backup state, the time) and is false when the counter check refuses it: a caller that must claim something first
 * (an mfaToken) accepts only after its claim, so a refused assertion spends nothing.
 */
export type VerifiedAssertion = { ok: true; passkey: PasskeyRow; method: KeyMethod; accept(): Promise<boolean> };
export type Assertion = VerifiedAssertion | { ok: false };

export type AssertionVerifierDeps = {
  config: WebAuthnConfig;
  store: PasskeyStore;
  challenges: Pick<WebAuthnChallenges, "consume">;
  audit: Pick<AuditLog, "record">;
  now: () => Date;
};

/** A synced passkey (backup eligible) is a key held in software across devices; a single-device one is bound to its hardware. */
export const methodOf = (deviceType: PasskeyRow["deviceType"]): KeyMethod => (deviceType === "multiDevice" ? "swk" : "hwk");

/** The challenge a response carries, or null for a clientDataJSON that cannot be read or names no usable challenge. */
function challengeIn(response: AuthenticationResponseJSON): string | null {
  try {
    return usableChallenge(decodeClientDataJSON(response.response.clientDataJSON).challenge);
  } catch {
    return null;
  }
}

/**
 * Checks an assertion (navigator.credentials.get) for a flow: the challenge first (consumed, so a response is
 * tried once), then the credential (for a second factor: one of `ownerId`'s), then @simplewebauthn/server's
 * checks against the configured origins and RP ID, with user verification required. Every refusal is audited
 * (passkey.refused) with its precise reason; callers answer vaguely. Limited per client IP; per credential id only
 * failed assertions of a known credential count, each after a real challenge was spent on it: whoever learns a
 * credential id cannot lock its owner out with junk, and the owner's right assertion is never refused by it.
 */
export function createAssertionVerifier({ config, store, challenges, audit, now }: AssertionVerifierDeps) {
  async function refuse(reason: string, userId: string | null, credentialId: string, attempt: Attempt): Promise<{ ok: false }> {
    await audit.record("passkey.refused", { userId, payload: { reason, credentialId: credentialId.slice(0, 128) } }, attempt.audit);
    return { ok: false };
  }

  /** A failed assertion against a known credential: refused, and counted on that credential (RATE_LIMITED past it). */
  async function fail(reason: string, passkey: PasskeyRow, attempt: Attempt): Promise<{ ok: false }> {
    await refuse(reason, passkey.userId, passkey.credentialId, attempt);
    await attempt.limits.consume("passkeyCredential", passkey.credentialId);
    return { ok: false };
  }

  return {
    async verify(response: AuthenticationResponseJSON, flow: CeremonyFlow, attempt: Attempt, ownerId?: string): Promise<Assertion> {
      await attempt.limits.consume("passkeyIp", attempt.audit.ipAddress);
      const challenge = challengeIn(response);
      if (challenge === null || !(await challenges.consume(challenge, flow))) {
        await audit.record("passkey.refused", { userId: ownerId ?? null, payload: { reason: "challenge", flow: flow.kind } }, attempt.audit);
        throw new AppError("WEBAUTHN_CHALLENGE_INVALID");
      }
      const passkey = await store.findByCredentialId(response.id);
      if (passkey === null || (ownerId !== undefined && passkey.userId !== ownerId)) return refuse("unknown credential", ownerId ?? null, response.id, attempt);
      const handle = response.response.userHandle;
      if (handle !== undefined && handle !== (await store.findUserHandle(passkey.userId))) return fail("user handle", passkey, attempt);
      let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>["authenticationInfo"];
      try {
        const verified = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge,
          expectedOrigin: config.origins,
          expectedRPID: config.rpId,
          // The counter is compared below, in the UPDATE that records it, where concurrent assertions are ordered.
          credential: { id: passkey.credentialId, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: passkey.transports },
          requireUserVerification: true,
        });
        if (!verified.verified) return fail("signature", passkey, attempt);
        info = verified.authenticationInfo;
      } catch (error) {
        return fail(error instanceof Error ? error.message.slice(0, 200) : "verification", passkey, attempt);
      }
      const { newCounter, credentialBackedUp, credentialDeviceType } = info;
      return {
        ok: true,
        passkey,
        method: methodOf(credentialDeviceType),
        accept: async () => {
          const update = { counter: newCounter, backedUp: credentialBackedUp, deviceType: credentialDeviceType, at: now() };
          if (await store.recordAssertion(passkey.id, update, config.strictCounter)) {
            await attempt.limits.reset("passkeyCredential", passkey.credentialId);
            return true;
          }
          await refuse(`counter ${newCounter} not above ${passkey.counter}`, passkey.userId, response.id, attempt);
          return false;
        },
      };
    },
  };
}

export type AssertionVerifier = ReturnType<typeof createAssertionVerifier>;
