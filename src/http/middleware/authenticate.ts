import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { ApiKeyValidator } from "../../machine/api-key-validator.ts";
import { looksLikeApiKey } from "../../machine/secret-format.ts";
import type { SessionValidator } from "../../sessions/session-validator.ts";
import type { AccessTokens } from "../../tokens/access-token.ts";
import type { AppEnv, Authentication } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createEnrollmentGate } from "./mfa-enrollment-gate.ts";

const BEARER_PREFIX = "Bearer ";

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1; the scheme is case-insensitive), undefined
 * for any other header. The token's syntax is left to what checks it, both stricter than RFC 6750's b64token: an
 * access token must be a canonical compact JWS, an API key its exact format. A pattern over the whole header here
 * scanned hundreds of characters on every request to learn what the cache lookup of the token tells anyway.
 */
function bearerToken(authorization: string): string | undefined {
  if (authorization.length <= BEARER_PREFIX.length) return undefined;
  const scheme = authorization.slice(0, BEARER_PREFIX.length);
  return scheme === BEARER_PREFIX || scheme.toLowerCase() === "bearer " ? authorization.slice(BEARER_PREFIX.length) : undefined;
}

export type AuthenticateDeps = {
  accessTokens: AccessTokens;
  sessionValidator: SessionValidator;
  apiKeyValidator: ApiKeyValidator;
  cookies: CookieJar;
  limits: RequestLimits;
  /** MFA_POLICY: under `required`, a user without a second factor may only enrol (see mfa-enrollment-gate.ts). */
  mfaPolicy: "optional" | "required";
};

function unauthenticated(): AppError {
  return new AppError("UNAUTHENTICATED", { headers: { "WWW-Authenticate": 'Bearer realm="servauth"' } });
}

/**
 * Requires a live session: a bearer access token whose session still exists, or the session cookie; or a live
 * personal API key (`Bearer sa_...`, told from a JWT by its prefix). The session or key is checked on every
 * request (from the cache while the revocation bus vouches for it), so logout, revocation and account deletion
 * end access at once, not when the JWT expires.
 */
export function authenticate(deps: AuthenticateDeps) {
  const enrollmentGate = createEnrollmentGate(deps.mfaPolicy);
  const authenticator = createAuthenticator(deps);
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = await authenticator.authenticate(c);
    const refusal = enrollmentGate(auth, c.req.method, c.req.path);
    if (refusal !== null) throw refusal;
    await next();
  });
}

/**
 * What authenticate does before its MFA_POLICY gate, for a route that also serves callers without credentials and
 * decides per operation (GraphQL): the credentials' session or key set as `auth`, and the request counted against
 * the key's limit (RATE_LIMIT_API_KEY) or the session's (RATE_LIMIT_AUTHENTICATED_SESSION); credentials that fail
 * count towards the address's.
 */
export function createAuthenticator({ accessTokens, sessionValidator, apiKeyValidator, cookies, limits }: AuthenticateDeps) {
  async function resolve(c: Context<AppEnv>, authorization: string | undefined, sessionCookie: string | undefined): Promise<Authentication> {
    if (authorization !== undefined) {
      const token = bearerToken(authorization);
      if (token !== undefined && looksLikeApiKey(token)) {
        const found = await apiKeyValidator.validate(token, () => auditContext(c));
        if (found === null) throw unauthenticated();
        return { ...found, via: "key" };
      }
      const claims = token === undefined ? null : await accessTokens.verify(token);
      const found = claims === null ? null : await sessionValidator.bySessionId(claims.sessionId);
      if (found === null || found.user.id !== claims?.userId) throw unauthenticated();
      return { ...found, via: "bearer" };
    }
    const found = sessionCookie === undefined ? null : await sessionValidator.bySessionToken(sessionCookie);
    if (found === null) throw unauthenticated();
    return { ...found, via: "cookie" };
  }

  return {
    presentsCredentials: credentialsPresented(cookies),

    async authenticate(c: Context<AppEnv>): Promise<Authentication> {
      const auth = await resolve(c, c.req.header("authorization"), cookies.readSession(c)).catch(async (error: unknown) => {
        // Presenting any credentials skips the generic per-IP limit; failing them counts towards it, so junk
        // tokens cannot buy unlimited 401s (RATE_LIMITED once the address is over the limit).
        await limits.consume(c, "unauthenticatedIp", c.get("client").ip);
        throw error;
      });
      c.set("auth", auth);
      if (auth.via === "key") await limits.consume(c, "apiKey", auth.apiKey.id);
      else await limits.consume(c, "authenticatedSession", auth.session.id);
      return auth;
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/** Whether the request presents credentials at all (a bearer header or the session cookie). */
export function credentialsPresented(cookies: CookieJar) {
  return (c: Context<AppEnv>): boolean => c.req.header("authorization") !== undefined || cookies.readSession(c) !== undefined;
}
