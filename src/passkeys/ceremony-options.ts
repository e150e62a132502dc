import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import { COSEALG, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { WebAuthnConfig } from "../config/config.ts";
import type { PasskeyRow } from "./passkey-store.ts";
import { WEBAUTHN_CHALLENGE_TTL_SECONDS } from "./webauthn-challenges.ts";

/** The browser's own prompt times out with the challenge, not a minute before it (the library's default). */
const TIMEOUT_MS = WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000;

/**
 * The key algorithms a credential may use: the library's defaults minus ML-DSA, which it offers only where the
 * runtime has it (Bun yes, Node 20 no). A key made through one instance must verify on every other, whatever it runs
 * on, so the list is fixed rather than the runtime's.
 */
export const SUPPORTED_ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256];

const descriptorsOf = (rows: PasskeyRow[]) => rows.map((row) => ({ id: row.credentialId, transports: row.transports }));

/**
 * Creation options: a discoverable credential (resident key required, so it can sign in without an email) made
 * with user verification, never one of the user's existing authenticators again; attestation "none" (no
 * authenticator allowlist is kept, so a vendor's certificate would prove nothing we check).
 */
export function registrationOptions(config: WebAuthnConfig, challenge: string, user: { handle: string; email: string; existing: PasskeyRow[] }) {
  return generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userID: isoBase64URL.toBuffer(user.handle),
    userName: user.email,
    userDisplayName: user.email,
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: TIMEOUT_MS,
    attestationType: "none",
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    excludeCredentials: descriptorsOf(user.existing),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
  });
}

/** Request options: with no `allowed`, any discoverable credential for the RP (the sign-in, and conditional UI). */
export function assertionOptions(config: WebAuthnConfig, challenge: string, allowed: PasskeyRow[] = []) {
  return generateAuthenticationOptions({
    rpID: config.rpId,
    challenge: isoBase64URL.toBuffer(challenge),
    timeout: TIMEOUT_MS,
    allowCredentials: descriptorsOf(allowed),
    userVerification: "required",
  });
}
