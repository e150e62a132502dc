import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { SessionValidator } from "../../sessions/session-validator.ts";
import type { AccessTokens } from "../../tokens/access-token.ts";
import type { AppEnv, Authentication } from "../app-env.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

export type AuthenticateDeps = {
  accessTokens: AccessTokens;
  sessionValidator: SessionValidator;
  cookies: CookieJar;
  limits: RequestLimits;
};

function unauthenticated(): AppError {
  return new AppError("UNAUTHENTICATED", { headers: { "WWW-Authenticate": 'Bearer realm="servauth"' } });
}

/**
 * Requires a live session: a bearer access token whose session still exists, or the session cookie. The session
 * is checked on every request (from the cache while the revocation bus vouches for it), so logout, revocation
 * and account deletion end access at once, not when the JWT expires.
 */
export function authenticate({ accessTokens, sessionValidator, cookies, limits }: AuthenticateDeps) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const auth = await resolve(c.req.header("authorization"), cookies.readSession(c)).catch(async (error: unknown) => {
      // Presenting any credentials skips the generic per-IP limit; failing them counts towards it, so junk
      // tokens cannot buy unlimited 401s (RATE_LIMITED once the address is over the limit).
      await limits.consume(c, "unauthenticatedIp", c.get("clientIp"));
      throw error;
    });
    c.set("auth", auth);
    await limits.consume(c, "authenticatedSession", auth.session.id);
    await next();
  });

  async function resolve(authorization: string | undefined, sessionCookie: string | undefined): Promise<Authentication> {
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      const claims = token === undefined ? null : await accessTokens.verify(token);
      const found = claims === null ? null : await sessionValidator.bySessionId(claims.sessionId);
      if (found === null || found.user.id !== claims?.userId) throw unauthenticated();
      return { ...found, via: "bearer" };
    }
    const found = sessionCookie === undefined ? null : await sessionValidator.bySessionToken(sessionCookie);
    if (found === null) throw unauthenticated();
    return { ...found, via: "cookie" };
  }
}
