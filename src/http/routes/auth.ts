import { randomUUID } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import type { MiddlewareHandler } from "hono";
import type { PublicUser } from "../../auth/users.ts";
import { mails } from "../../delivery/templates.ts";
import { toPublicUser } from "../../auth/users.ts";
import { AppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createSignIn } from "../sign-in.ts";
import {
  AUTHENTICATED,
  AuthResultSchema,
  Email,
  jsonBody,
  jsonResponse,
  NewPassword,
  PresentedPassword,
  problem,
  PublicUserSchema,
  TokenPairSchema,
  Username,
} from "../schemas.ts";

export type AuthRouteDeps = Pick<
  Services,
  "config" | "credentials" | "passwordPolicy" | "emailVerification" | "sessions" | "rotateRefreshToken" | "accessTokens" | "audit" | "mail"
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
    201: jsonResponse(
      z.union([AuthResultSchema, z.object({ user: PublicUserSchema })]),
      "Registered and signed in (session cookie set); with REQUIRE_EMAIL_VERIFICATION, `{user}` only: sign in once verified",
    ),
    400: problem("VALIDATION_FAILED, INVALID_JSON, or PASSWORD_TOO_COMMON (a common or breached password, or one containing the email's name)"),
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
    401: problem("INVALID_CREDENTIALS, the same for an unknown email and a wrong password"),
    403: problem("CSRF_REJECTED; after a correct password: EMAIL_NOT_VERIFIED or ACCOUNT_PENDING_DELETION"),
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
    403: problem("CSRF_REJECTED"),
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
    403: problem("CSRF_REJECTED"),
  },
});

/** What a fresh registration would answer for this input: a new id, unverified, created now. Nothing of the owner's. */
function lookalikeUser(input: { email: string; username?: string | undefined }): PublicUser {
  const now = new Date().toISOString();
  return { id: randomUUID(), email: input.email, username: input.username ?? null, emailVerified: false, createdAt: now, updatedAt: now };
}

/** POST /auth/register, /login, /logout, /refresh. */
export function createAuthRoutes(deps: AuthRouteDeps) {
  const { credentials, sessions, accessTokens, cookies, audit, limits } = deps;

  const { signIn, tokenPair } = createSignIn({ sessions, accessTokens, audit, cookies });

  return createRouter()
    .openapi(register, async (c) => {
      const input = c.req.valid("json");
      await limits.consume(c, "registerIp", c.get("clientIp"));
      await deps.passwordPolicy.assertAcceptable(input.password, { email: input.email, field: "password" });
      if (!deps.config.account.requireEmailVerification) {
        const user = await credentials.register(input);
        await audit.record("user.registered", { userId: user.id }, auditContext(c));
        await deps.emailVerification.send(user);
        return c.json(await signIn(c, user), 201);
      }
      // Nobody is signed in by registering here, so a taken email can get the answer a new one gets: no enumeration.
      const registration = await credentials.registerConcealingTakenEmail(input);
      if (registration.status === "email-taken") {
        const { owner } = registration;
        await audit.record("user.registration_attempted", { userId: owner.id }, auditContext(c));
        deps.mail.enqueue(mails.registrationAttempted(owner.email));
        return c.json({ user: lookalikeUser(input) }, 201);
      }
      await audit.record("user.registered", { userId: registration.user.id }, auditContext(c));
      await deps.emailVerification.send(registration.user);
      return c.json({ user: toPublicUser(registration.user) }, 201);
    })
    .openapi(login, async (c) => {
      const { email, password } = c.req.valid("json");
      const ip = c.get("clientIp");
      await limits.consume(c, "loginIp", ip);
      await limits.assertBelow(c, "stuffingIp", ip);
      // Counted before the password is checked: past the limit, no argon2 work is done for anyone.
      await limits.consume(c, "loginAccount", email);
      const checked = await credentials.checkCredentials(email, password);
      if (!checked.valid) {
        await audit.record("login.failed", { userId: checked.userId, payload: { email } }, auditContext(c));
        await limits.countDistinct(c, "stuffingIp", ip, email);
        throw new AppError("INVALID_CREDENTIALS");
      }
      const { user } = checked;
      await limits.reset("loginAccount", email);
      credentials.assertMaySignIn(user);
      // An unverified account can be claimed by the address's owner (a sign-in code) while this login runs: the
      // claim deletes the password and the sessions it can see, so a session made after its check must go too.
      // The claim locks the user row, which every session insert waits for, so checking afterwards closes the gap.
      const stillEntitled = user.emailVerified ? undefined : () => credentials.hasPassword(user.id);
      const signedIn = await signIn(c, user, stillEntitled);
      await audit.record("login.succeeded", { userId: user.id }, auditContext(c));
      return c.json(signedIn, 200);
    })
    .openapi({ ...logout, middleware: [deps.requireAuth] }, async (c) => {
      const { user, session } = c.get("auth");
      await sessions.revoke(user.id, session.id);
      await audit.record("logout", { userId: user.id, sessionId: session.id }, auditContext(c));
      cookies.clear(c);
      return c.body(null, 204);
    })
    .openapi(refresh, async (c) => {
      const fromBody = c.req.valid("json")?.refreshToken;
      const presented = fromBody ?? cookies.readRefresh(c);
      const result = presented === undefined ? ({ status: "invalid" } as const) : await deps.rotateRefreshToken(presented);
      if (result.status === "reused") {
        await audit.record("token.refresh_reused", { userId: result.userId, sessionId: result.sessionId }, auditContext(c));
        cookies.clear(c);
        throw new AppError("REFRESH_TOKEN_REUSED");
      }
      if (result.status === "invalid") throw new AppError("INVALID_REFRESH_TOKEN");
      // Counted after the exchange, once the session is known; a refused client may retry with the same token
      // inside the grace window and gets the same pair.
      await limits.consume(c, "refreshSession", result.session.id);
      const { session, refreshToken, retried } = result;
      await audit.record("token.refreshed", { userId: session.userId, sessionId: session.id, payload: { retried } }, auditContext(c));
      if (fromBody === undefined) cookies.set(c, { refreshToken }, sessions.absoluteExpiry(session.createdAt));
      return c.json(await tokenPair(session.userId, session.id, refreshToken), 200);
    });
}
