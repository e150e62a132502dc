import { and, desc, eq, gt, lt, ne } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import { generateOpaqueToken, hashOpaqueToken } from "../tokens/opaque-token.ts";
import { prepareInsertSession } from "./insert-session.ts";
import type { RevocationBus } from "./revocation-bus.ts";

export type SessionInfo = { id: string; userId: string; createdAt: Date; expiresAt: Date };
export type AuthenticatedSession = { session: SessionInfo; user: UserRow };
/** A new session with the two secrets the client gets; only their hashes are stored. */
export type IssuedSession = { session: SessionInfo; sessionToken: string; refreshToken: string; evictedSessionIds: string[] };
export type SessionListing = SessionInfo & { lastActiveAt: Date; ipAddress: string | null; userAgent: string | null };

export type SessionPolicy = {
  /** A session and its refresh token lapse after this long without a refresh. */
  refreshTtlSeconds: number;
  /** No session outlives this, refreshed or not. */
  sessionMaxAgeSeconds: number;
  /** A new login beyond this many sessions ends the user's oldest ones. */
  maxSessionsPerUser: number;
  /** lastActiveAt is kept to this resolution, so validation never writes per request. */
  activityResolutionSeconds: number;
};

export const sessionColumns = {
  id: sessions.id,
  userId: sessions.userId,
  createdAt: sessions.createdAt,
  expiresAt: sessions.expiresAt,
};

/** Sessions in the database. Every revocation is published on the bus, so every instance's cache forgets it. */
export function createSessionService(db: Database, bus: RevocationBus, policy: SessionPolicy, now: () => Date = () => new Date()) {
  const insertSession = prepareInsertSession(db);
  return {
    absoluteExpiry: (createdAt: Date) => absoluteExpiry(policy, createdAt),

    async create(userId: string, client: { ipAddress: string | null; userAgent: string | null }): Promise<IssuedSession> {
      const createdAt = now();
      const expiresAt = nextExpiry(policy, createdAt, createdAt);
      const sessionToken = generateOpaqueToken();
      const refreshToken = generateOpaqueToken();
      const { session, evictedSessionIds } = await insertSession({
        userId,
        sessionTokenHash: hashOpaqueToken(sessionToken),
        refreshTokenHash: hashOpaqueToken(refreshToken),
        createdAt,
        expiresAt,
        ipAddress: client.ipAddress,
        userAgent: client.userAgent,
        keepExisting: policy.maxSessionsPerUser - 1,
      });
      for (const sessionId of evictedSessionIds) await bus.publish({ kind: "session", sessionId });
      return { session, sessionToken, refreshToken, evictedSessionIds };
    },

    /** The live session with its user, straight from the database (the validator caches it). */
    async find(by: { sessionId: string } | { tokenHash: string }) {
      const condition = "sessionId" in by ? eq(sessions.id, by.sessionId) : eq(sessions.tokenHash, by.tokenHash);
      const [row] = await db
        .select({ session: sessionColumns, user: users, lastActiveAt: sessions.lastActiveAt })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(and(condition, gt(sessions.expiresAt, now())));
      return row ?? null;
    },

    async list(userId: string): Promise<SessionListing[]> {
      return db
        .select({ ...sessionColumns, lastActiveAt: sessions.lastActiveAt, ipAddress: sessions.ipAddress, userAgent: sessions.userAgent })
        .from(sessions)
        .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, now())))
        .orderBy(desc(sessions.lastActiveAt));
    },

    /** Ends one session of this user; false if the user has no such session. Refresh tokens go with it (cascade). */
    async revoke(userId: string, sessionId: string): Promise<boolean> {
      const removed = await db
        .delete(sessions)
        .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
        .returning({ id: sessions.id });
      await bus.publish({ kind: "session", sessionId });
      return removed.length > 0;
    },

    /** Ends every session of the user except `keepSessionId`; returns the ended ids. */
    async revokeAll(userId: string, keepSessionId?: string): Promise<string[]> {
      const condition = keepSessionId === undefined ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId));
      const removed = await db.delete(sessions).where(condition).returning({ id: sessions.id });
      for (const { id } of removed) await bus.publish({ kind: "session", sessionId: id });
      return removed.map((row) => row.id);
    },

    activityResolutionMs: policy.activityResolutionSeconds * 1000,

    /** Records activity; the condition keeps it to one write per resolution per session even across instances. */
    async touch(sessionId: string): Promise<void> {
      const at = now();
      const due = new Date(at.getTime() - policy.activityResolutionSeconds * 1000);
      await db.update(sessions).set({ lastActiveAt: at }).where(and(eq(sessions.id, sessionId), lt(sessions.lastActiveAt, due)));
    },
  };
}

/** The moment no refresh can extend a session past; browser cookies live until then. */
export function absoluteExpiry(policy: SessionPolicy, createdAt: Date): Date {
  return new Date(createdAt.getTime() + policy.sessionMaxAgeSeconds * 1000);
}

/** The expiry a refresh at `at` grants: the idle lifetime from then, capped by the absolute lifetime. */
export function nextExpiry(policy: SessionPolicy, createdAt: Date, at: Date): Date {
  return new Date(Math.min(at.getTime() + policy.refreshTtlSeconds * 1000, absoluteExpiry(policy, createdAt).getTime()));
}

export type SessionService = ReturnType<typeof createSessionService>;
