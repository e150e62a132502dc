import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { acrOf, type Assurance } from "../sessions/assurance.ts";
import { SIGNING_ALGORITHM, type SigningKeyStore, verificationKeyOf } from "./signing-keys.ts";

/** What verification hands back: our own checks read assurance from the cached session, never from the token. */
export type AccessTokenClaims = { userId: string; sessionId: string };
/**
 * What a token is signed with: the session's assurance, the user's roles, and for an impersonation session the
 * administrator acting and the session's end, for downstream APIs that only see the token.
 */
export type AccessTokenSubject = AccessTokenClaims &
  Assurance & { roles: readonly string[]; impersonatorId: string | null; sessionExpiresAt: Date };
export type AccessTokenOptions = { issuer: string; audience: string; ttlSeconds: number };

/**
 * RFC 7515 compact serialization: three unpadded base64url parts. jose decodes leniently (atob, or
 * Uint8Array.fromBase64 in loose mode: padding, whitespace and set trailing bits pass), so many strings would
 * carry the same signature; only the one spelling we issue is a token. An Ed25519 signature is 64 bytes: 86
 * characters, the last holding 2 data bits and 4 zero bits. Header and payload need no such care: the signature
 * covers them as spelt.
 */
const CANONICAL_COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{85}[AQgw]$/;

/** How many verified tokens each process remembers. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Short-lived EdDSA JWTs: iss, aud, sub (user), sid (session), iat, exp, jti; `kid` in the header. The session's
 * assurance rides along as `amr` (RFC 8176), `acr` ("aal1"/"aal2") and `auth_time` (OIDC Core 2, epoch seconds),
 * the user's roles as `roles` (RFC 9068 section 2.2.3.1), and an impersonation session's administrator as
 * `act: {sub}` (RFC 8693 section 4.1); such a token never outlives its session (exp capped at the session's end).
 * An Ed25519 verify costs 0.1-0.3 ms; a client presents the same token on every request for its lifetime, so
 * verified tokens are remembered until their exp (verification is a pure function of token, keys and time).
 */
export function createAccessTokens(keys: SigningKeyStore, options: AccessTokenOptions) {
  const verifyingKey = verificationKeyOf(keys);
  const verified = new Map<string, { claims: AccessTokenClaims; expiresAtMs: number }>();

  function remember(token: string, claims: AccessTokenClaims, exp: number) {
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(token, { claims, expiresAtMs: exp * 1000 });
  }

  return {
    ttlSeconds: options.ttlSeconds,

    async sign(subject: AccessTokenSubject): Promise<string> {
      const key = keys.current();
      const issuedAt = Math.floor(Date.now() / 1000);
      const impersonated = subject.impersonatorId !== null;
      const exp = issuedAt + options.ttlSeconds;
      return new SignJWT({
        sid: subject.sessionId,
        amr: subject.amr,
        acr: acrOf(subject.aal),
        auth_time: Math.floor(subject.authTime.getTime() / 1000),
        roles: [...subject.roles],
        ...(impersonated ? { act: { sub: subject.impersonatorId } } : {}),
      })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "at+jwt" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(subject.userId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(impersonated ? Math.min(exp, Math.floor(subject.sessionExpiresAt.getTime() / 1000)) : exp)
        .sign(key.privateKey);
    },

    /**
     * The claims of a valid token, or null for anything else (bad signature, expired, wrong iss/aud, alg:none, a
     * token spelt any other way than it was issued).
     */
    async verify(token: string): Promise<AccessTokenClaims | null> {
      // Only canonical tokens are ever remembered, so a remembered one needs no second look at its spelling: the
      // pattern runs over the whole token (hundreds of characters) and is most of what a known token costs.
      const known = verified.get(token);
      if (known !== undefined) {
        if (known.expiresAtMs > Date.now()) return known.claims;
        verified.delete(token);
        return null;
      }
      if (!CANONICAL_COMPACT_JWS.test(token)) return null;
      try {
        const { payload } = await jwtVerify(
          token,
          verifyingKey,
          {
            algorithms: [SIGNING_ALGORITHM],
            issuer: options.issuer,
            audience: options.audience,
            typ: "at+jwt",
            requiredClaims: ["exp", "iat", "jti", "sub", "sid"],
          },
        );
        if (typeof payload.sub !== "string" || typeof payload.sid !== "string" || payload.exp === undefined) return null;
        const claims = { userId: payload.sub, sessionId: payload.sid };
        remember(token, claims, payload.exp);
        return claims;
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return null;
        throw error;
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
