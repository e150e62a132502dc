import { Secret, TOTP } from "otpauth";

/** RFC 6238 as authenticator apps expect it by default: SHA-1, 6 digits, 30-second steps. */
const TOTP_PARAMETERS = { algorithm: "SHA1", digits: 6, period: 30 } as const;
/** 160 bits: RFC 4226 §4's recommended length, and the HMAC-SHA-1 block it keys. */
const SECRET_BYTES = 20;
/** One step of clock drift either way (RFC 6238 §5.2). */
const DRIFT_STEPS = 1;

/** A new TOTP secret in base32, the form apps and otpauth URIs carry. */
export function generateTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The otpauth:// URI an authenticator app imports (Key URI Format): issuer and the account's email. */
export function totpUri(secret: string, issuer: string, accountName: string): string {
  return new TOTP({ ...TOTP_PARAMETERS, issuer, label: accountName, secret: Secret.fromBase32(secret) }).toString();
}

/** Six ASCII digits: otpauth's comparison throws on anything whose UTF-16 length differs from its bytes' ("１２３４５６"). */
export const TOTP_CODE = /^[0-9]{6}$/;

/**
 * The time step `code` belongs to at `nowMs`, allowing one step of drift; null if it matches none (or is not six
 * digits). The caller
 * accepts a step at most once (src/mfa/factor-store.ts), which is what makes a code single use.
 */
export function matchTotpStep(secret: string, code: string, nowMs: number): number | null {
  if (!TOTP_CODE.test(code)) return null;
  const totp = new TOTP({ ...TOTP_PARAMETERS, secret: Secret.fromBase32(secret) });
  const delta = totp.validate({ token: code, timestamp: nowMs, window: DRIFT_STEPS });
  return delta === null ? null : totp.counter({ timestamp: nowMs }) + delta;
}

