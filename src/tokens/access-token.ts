import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { SIGNING_ALGORITHM, type SigningKeyStore } from "./signing-keys.ts";

export type AccessTokenClaims = { userId: string; sessionId: string };
export type AccessTokenOptions = { issuer: string; audience: string; ttlSeconds: number };

/** How many verified tokens each process remembers. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Short-lived EdDSA JWTs: iss, aud, sub (user), sid (session), iat, exp, jti; `kid` in the header.
 * An Ed25519 verify costs 0.1-0.3 ms; a client presents the same token on every request for its lifetime, so
 * verified tokens are remembered until their exp (verification is a pure function of token, keys and time).
 */
export function createAccessTokens(keys: SigningKeyStore, options: AccessTokenOptions) {
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

    async sign(claims: AccessTokenClaims): Promise<string> {
      const key = keys.current();
      return new SignJWT({ sid: claims.sessionId })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "at+jwt" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(claims.userId)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(key.privateKey);
    },

    /** The claims of a valid token, or null for anything else (bad signature, expired, wrong iss/aud, alg:none). */
    async verify(token: string): Promise<AccessTokenClaims | null> {
      const known = verified.get(token);
      if (known !== undefined) {
        if (known.expiresAtMs > Date.now()) return known.claims;
        verified.delete(token);
        return null;
      }
      try {
        const { payload } = await jwtVerify(
          token,
          async (header) => {
            const key = header.kid === undefined ? undefined : await keys.find(header.kid);
            if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
            return key.publicKey;
          },
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
