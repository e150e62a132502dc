/**
 * How a session was authenticated, in the terms downstream APIs already know: RFC 8176 method names (`amr`), an
 * assurance level (`aal`, NIST SP 800-63B's counting of distinct factor kinds) and the time of the last proof
 * (`authTime`, OIDC's `auth_time`).
 */

/**
 * RFC 8176 names where one fits; `email` (a code mailed to the account's address) has none. `otp` is a code from
 * an authenticator app (RFC 4226/6238), `hwk`/`swk` a hardware- or software-bound key (WebAuthn: a single-device
 * security key, or a synced passkey); `mfa` is not a method but the registry's mark that several factors were used.
 * `fed` (no RFC 8176 name either) is a social login: a factor proven at an identity provider, whatever it was there.
 * `user` is recorded only when a WebAuthn authenticator verified its user (the UV flag: a PIN or a biometric checked
 * on the device), never for mere presence. `key` (no RFC 8176 name) is a personal API key: a bearer secret that
 * proves no factor, so it never counts toward the aal.
 */
export const AUTH_METHODS = ["pwd", "email", "otp", "hwk", "swk", "user", "mfa", "fed", "key"] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export type AssuranceLevel = 1 | 2;

export type Assurance = { amr: AuthMethod[]; aal: AssuranceLevel; authTime: Date };

type FactorKind = "knowledge" | "possession" | "verified-user" | "federated";

/**
 * What each method proves. A mailed code and an app's code both prove possession of something, so they are one
 * kind: a mailed code after a code sign-in is still one factor. The `mfa` mark proves nothing alone. An
 * authenticator's user verification is something the user knows or is (a PIN, a fingerprint), checked on the device
 * that holds the key: with the key it makes a multi-factor cryptographic authenticator (NIST SP 800-63B 5.1.9), aal 2.
 */
const FACTOR_KIND: Record<AuthMethod, FactorKind | null> = {
  pwd: "knowledge",
  email: "possession",
  otp: "possession",
  hwk: "possession",
  swk: "possession",
  user: "verified-user",
  mfa: null,
  fed: "federated",
  key: null,
};

/** The assurance of the methods used, in the order used; `mfa` is added once two kinds of factor were proven. */
export function assuranceOf(methods: readonly AuthMethod[], authTime: Date): Assurance {
  const amr = [...new Set(methods.filter((method) => method !== "mfa"))];
  const kinds = new Set(amr.map((method) => FACTOR_KIND[method]).filter((kind) => kind !== null));
  const aal: AssuranceLevel = kinds.size >= 2 ? 2 : 1;
  return { amr: aal === 2 ? [...amr, "mfa"] : amr, aal, authTime };
}

/**
 * Whether a session proved two different factors: aal 2, or, for an account without a password (a code sign-in
 * followed by the app's code), the two methods such an account can show. What changing second factors needs.
 */
export function provedTwoFactors(amr: readonly AuthMethod[]): boolean {
  return new Set(amr.filter((method) => FACTOR_KIND[method] !== null)).size >= 2;
}

/** The `acr` claim for a level: "aal1" or "aal2". */
export const acrOf = (aal: AssuranceLevel) => `aal${aal}` as const;

/** Whether a request's authentication is a personal API key (src/machine/api-key-validator.ts), not a session. */
export const isApiKeyAuthentication = (assurance: Pick<Assurance, "amr">) => assurance.amr.includes("key");
