import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { SIGNING_ALGORITHM, type SigningKeyStore, verificationKeyOf } from "../tokens/signing-keys.ts";

export type MachineTokenClaims = { clientId: string; scopes: string[]; issuedAt: number; expiresAt: number };

/**
 * Access tokens for machine clients, RFC 9068 JWTs signed by the same keys as user access tokens (verifiable from
 * /.well-known/jwks.json): `typ: at+jwt`, `sub` and `client_id` both the client's id, `scope`, and no `sid`. The
 * missing `sid` is what keeps them off the user routes: the user-token verifier requires one
 * (src/tokens/access-token.ts).
 */
export function createMachineTokens(keys: SigningKeyStore, options: { issuer: string; audience: string }) {
  const verifyingKey = verificationKeyOf(keys);
  return {
    async sign(clientId: string, scopes: readonly string[], ttlSeconds: number): Promise<string> {
      const key = keys.current();
      const issuedAt = Math.floor(Date.now() / 1000);
      return new SignJWT({ client_id: clientId, scope: scopes.join(" ") })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: "at+jwt" })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(clientId)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .sign(key.privateKey);
    },

    /** The claims of a valid machine token, or null for anything else (a user's token included). */
    async verify(token: string): Promise<MachineTokenClaims | null> {
      try {
        const { payload } = await jwtVerify(
          token,
          verifyingKey,
          { algorithms: [SIGNING_ALGORITHM], issuer: options.issuer, audience: options.audience, typ: "at+jwt", requiredClaims: ["exp", "iat", "jti", "sub", "client_id"] },
        );
        const { sub, client_id: clientId, scope, sid, iat, exp } = payload;
        if (sid !== undefined || typeof clientId !== "string" || sub !== clientId || iat === undefined || exp === undefined) return null;
        const scopes = typeof scope === "string" && scope !== "" ? scope.split(" ") : [];
        return { clientId, scopes, issuedAt: iat, expiresAt: exp };
      } catch (error) {
        if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
        throw error;
      }
    },
  };
}

export type MachineTokens = ReturnType<typeof createMachineTokens>;
