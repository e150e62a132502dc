import type { Context } from "hono";
import { toPublicUser, type UserRow } from "../auth/users.ts";
import type { Attempt, SignedIn } from "../flows/sign-in-flow.ts";
import type { Services } from "../services.ts";
import type { SessionInfo } from "../sessions/session-service.ts";
import type { AppEnv } from "./app-env.ts";
import { auditContext } from "./audit-context.ts";
import type { CookieJar } from "./cookies.ts";
import type { RequestLimits } from "./request-limits.ts";

export type SignInDeps = Pick<Services, "sessions" | "accessTokens"> & { cookies: CookieJar };

/** A sign-in attempt as the flow sees it: who, from where, and the request's rate limits. */
export function attemptOf(c: Context<AppEnv>, limits: RequestLimits): Attempt {
  const context = auditContext(c);
  return { client: { ipAddress: context.ipAddress, userAgent: context.userAgent }, audit: context, limits: limits.bind(c) };
}

/** What every way of signing in answers (password login, registration, one-time code): the same shape. */
export function createSignIn({ sessions, accessTokens, cookies }: SignInDeps) {
  /** An access token for the session, carrying its assurance (amr, acr, auth_time) and the user's roles. */
  const accessTokenFor = (session: SessionInfo, user: Pick<UserRow, "roles">) =>
    accessTokens.sign({ ...session, sessionId: session.id, roles: user.roles, sessionExpiresAt: session.expiresAt });

  async function tokenPair(session: SessionInfo, user: Pick<UserRow, "roles">, refreshToken: string) {
    return {
      accessToken: await accessTokenFor(session, user),
      refreshToken,
      tokenType: "Bearer" as const,
      expiresIn: accessTokens.ttlSeconds,
    };
  }

  /** The session and refresh cookies set, `{user, accessToken, refreshToken, ...}` returned. */
  async function respond(c: Context<AppEnv>, { user, issued }: SignedIn) {
    cookies.set(c, issued, sessions.absoluteExpiry(issued.session.createdAt));
    return { user: toPublicUser(user), ...(await tokenPair(issued.session, user, issued.refreshToken)) };
  }

  return { respond, tokenPair, accessTokenFor };
}

export type SignIn = ReturnType<typeof createSignIn>;
