import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { SIGNING_ALGORITHM, type SigningKeyStore } from "./signing-keys.ts";

export type AccessTokenClaims = { userId: string; sessionId: string };
export type AccessTokenOptions = { issuer: string; audience: string; ttlSeconds: number };

/** Short-lived EdDSA JWTs: iss, aud, sub (user), sid (session), iat, exp, jti; `kid` in the header. */
export function createAccessTokens(keys: SigningKeyStore, options: AccessTokenOptions) {
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
      try {
        const { payload } = await jwtVerify(
          token,
          async (header) => {
            const key = header.kid === undefined ? undefined : keys.find(header.kid);
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
        if (typeof payload.sub !== "string" || typeof payload.sid !== "string") return null;
        return { userId: payload.sub, sessionId: payload.sid };
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return null;
        throw error;
      }
    },
  };
}

export type AccessTokens = ReturnType<typeof createAccessTokens>;
