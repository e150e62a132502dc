import type { Context } from "hono";
import { toPublicUser, type UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AppEnv } from "./app-env.ts";
import { auditContext } from "./audit-context.ts";
import type { CookieJar } from "./cookies.ts";

export type SignInDeps = Pick<Services, "sessions" | "accessTokens" | "audit"> & { cookies: CookieJar };

/** What every way of signing in ends with (password login, registration, one-time code): the same answer. */
export function createSignIn({ sessions, accessTokens, audit, cookies }: SignInDeps) {
  async function tokenPair(userId: string, sessionId: string, refreshToken: string) {
    return {
      accessToken: await accessTokens.sign({ userId, sessionId }),
      refreshToken,
      tokenType: "Bearer" as const,
      expiresIn: accessTokens.ttlSeconds,
    };
  }

  /**
   * A new session for the user: session and refresh cookies set, `{user, accessToken, refreshToken, ...}` returned.
   * `stillEntitled`, asked once the session exists, can take it back (INVALID_CREDENTIALS): what let the user in
   * may have been revoked while the session was being made (see src/auth/account-claim.ts).
   */
  async function signIn(c: Context<AppEnv>, user: UserRow, stillEntitled?: () => Promise<boolean>) {
    const context = auditContext(c);
    const issued = await sessions.create(user.id, { ipAddress: context.ipAddress, userAgent: context.userAgent });
    if (stillEntitled !== undefined && !(await stillEntitled())) {
      await sessions.revoke(user.id, issued.session.id);
      throw new AppError("INVALID_CREDENTIALS");
    }
    for (const sessionId of issued.evictedSessionIds) {
      await audit.record("session.evicted", { userId: user.id, sessionId, payload: { reason: "session cap" } }, context);
    }
    cookies.set(c, issued, sessions.absoluteExpiry(issued.session.createdAt));
    return { user: toPublicUser(user), ...(await tokenPair(user.id, issued.session.id, issued.refreshToken)) };
  }

  return { signIn, tokenPair };
}

export type SignIn = ReturnType<typeof createSignIn>;
