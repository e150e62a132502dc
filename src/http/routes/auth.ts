import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";
import {
  AUTHENTICATED,
  AuthResultSchema,
  Email,
  jsonBody,
  jsonResponse,
  NewPassword,
  PresentedPassword,
  problem,
  TokenPairSchema,
  Username,
} from "../schemas.ts";

export type AuthRouteDeps = Pick<
  Services,
  "registration" | "sessions" | "ownSessions" | "refreshTokens" | "accessTokens" | "signInFlow" | "passwordStrategy"
> & {
  cookies: CookieJar;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

const register = createRoute({
  method: "post",
  path: "/register",
  tags: ["auth"],
  summary: "Create an account and sign in; a verification mail goes to the address",
  request: { body: jsonBody(z.object({ email: Email, password: NewPassword, username: Username.optional() })) },
  responses: {
    201: jsonResponse(AuthResultSchema, "Registered and signed in (session cookie set)"),
    202: jsonResponse(
      z.object({}).strict(),
      "With REQUIRE_EMAIL_VERIFICATION: accepted, the same answer for a new and a taken address; a new one gets a verification mail (sign in once verified), a taken one's owner a warning",
    ),
    400: problem("VALIDATION_FAILED (also a `username` with REQUIRE_EMAIL_VERIFICATION: it is chosen once the address is verified), INVALID_JSON, or PASSWORD_TOO_COMMON (a common or breached password, or one containing the email's name)"),
    403: problem("CSRF_REJECTED"),
    409: problem("USERNAME_TAKEN, or EMAIL_TAKEN (never with REQUIRE_EMAIL_VERIFICATION: then a taken email gets the answer a new one gets, and its owner a mail)"),
  },
});

const login = createRoute({
  method: "post",
  path: "/login",
  tags: ["auth"],
  summary: "Sign in with email and password",
  request: { body: jsonBody(z.object({ email: Email, password: PresentedPassword })) },
  responses: {
    200: jsonResponse(AuthResultSchema, "Signed in; session cookie set"),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    401: problem("INVALID_CREDENTIALS, the same for an unknown email, a wrong password and (with REQUIRE_EMAIL_VERIFICATION) an address not verified yet"),
    403: problem("CSRF_REJECTED; after a correct password: ACCOUNT_PENDING_DELETION, ACCOUNT_BANNED (`until` when temporary), or MFA_REQUIRED (a second factor finishes the sign-in: POST /auth/mfa/verify)"),
    429: problem("RATE_LIMITED: too many attempts for this account or from this address (Retry-After)"),
  },
});

const logout = createRoute({
  method: "post",
  path: "/logout",
  tags: ["auth"],
  summary: "End the current session",
  security: AUTHENTICATED,
  responses: {
    204: { description: "Session ended; cookies cleared" },
    401: problem("UNAUTHENTICATED"),
    403: problem("CSRF_REJECTED, or FORBIDDEN_FOR_API_KEY (an API key is revoked with DELETE /auth/api-keys/{id} or POST /oauth2/revoke)"),
  },
});

const refresh = createRoute({
  method: "post",
  path: "/refresh",
  tags: ["auth"],
  summary: "Exchange a refresh token (body or cookie) for a new token pair",
  request: { body: jsonBody(z.object({ refreshToken: z.string().min(1).max(1024).optional() }), false) },
  responses: {
    200: jsonResponse(TokenPairSchema, "A new access token and refresh token; the presented refresh token is retired"),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    401: problem("INVALID_REFRESH_TOKEN, or REFRESH_TOKEN_REUSED: a retired token was replayed and the session is revoked"),
    403: problem("CSRF_REJECTED, or ACCOUNT_BANNED (the session is ended)"),
  },
});

/** POST /auth/register, /login, /logout, /refresh. */
export function createAuthRoutes(deps: AuthRouteDeps) {
  const { sessions, accessTokens, cookies, limits } = deps;

  const { respond, tokenPair } = createSignIn({ sessions, accessTokens, cookies });

  return createRouter()
    .openapi(register, async (c) => {
      const signedIn = await deps.registration.signUp(c.req.valid("json"), attemptOf(c, limits));
      if (signedIn === null) return c.json({}, 202);
      return c.json(await respond(c, signedIn), 201);
    })
    .openapi(login, async (c) => {
      const signedIn = await deps.signInFlow.signIn(deps.passwordStrategy, c.req.valid("json"), attemptOf(c, limits));
      return c.json(await respond(c, signedIn), 200);
    })
    .openapi({ ...logout, middleware: [deps.requireAuth] }, async (c) => {
      await deps.ownSessions.logout(c.get("auth"), auditContext(c));
      cookies.clear(c);
      return c.body(null, 204);
    })
    .openapi(refresh, async (c) => {
      const fromBody = c.req.valid("json")?.refreshToken;
      const refreshed = await deps.refreshTokens(fromBody ?? cookies.readRefresh(c), attemptOf(c, limits)).catch((error: unknown) => {
        // The session is revoked: its cookies are of no more use.
        if (error instanceof AppError && error.code === "REFRESH_TOKEN_REUSED") cookies.clear(c);
        throw error;
      });
      const { session, refreshToken, user } = refreshed;
      if (fromBody === undefined) cookies.set(c, { refreshToken }, sessions.absoluteExpiry(session.createdAt));
      return c.json(await tokenPair(session, user, refreshToken), 200);
    });
}
