import { importPKCS8, SignJWT } from "jose";
import type { AppleKey } from "../config/env/oauth.ts";

/** Apple accepts a secret for at most six months; a fresh one each hour keeps a leaked one short-lived. */
const LIFETIME_SECONDS = 3600;

/**
 * Sign in with Apple has no fixed client secret: the client signs one, an ES256 JWT from the team (iss) about the
 * client (sub) for Apple (aud), with the key Apple issued (kid). Made on demand and reused while it has over half
 * of its lifetime left.
 */
export function createAppleClientSecret(key: AppleKey, clientId: string, now: () => Date = () => new Date()) {
  let cached: { secret: string; renewAt: number } | null = null;
  return async (): Promise<string> => {
    const issuedAt = Math.floor(now().getTime() / 1000);
    if (cached !== null && issuedAt < cached.renewAt) return cached.secret;
    const privateKey = await importPKCS8(key.privateKey, "ES256");
    const secret = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: key.keyId })
      .setIssuer(key.teamId)
      .setSubject(clientId)
      .setAudience("https://appleid.apple.com")
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + LIFETIME_SECONDS)
      .sign(privateKey);
    cached = { secret, renewAt: issuedAt + LIFETIME_SECONDS / 2 };
    return secret;
  };
}
