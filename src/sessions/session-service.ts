import { and, desc, eq, gt, inArray, lt, ne } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { mfaChallenges } from "../db/tables/mfa.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import { generateOpaqueToken, hashOpaqueToken } from "../tokens/opaque-token.ts";
import { type Assurance, assuranceOf, type AuthMethod } from "./assurance.ts";
import { prepareInsertSession, sessionColumns } from "./insert-session.ts";
import type { RevocationBus } from "./revocation-bus.ts";

/** A session as the hot path holds it: with its assurance, so step-up checks and token claims need no query. */
export type SessionInfo = { id: string; userId: string; createdAt: Date; expiresAt: Date; impersonatorId: string | null } & Assurance;
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

/** An offset past any user's session count: the cap's delete finds nothing to end. */
const NO_EVICTION = 2_147_483_647;

/** Sessions in the database. Every revocation is published on the bus, so every instance's cache forgets it. */
export function createSessionService(db: Database, bus: RevocationBus, policy: SessionPolicy, now: () => Date = () => new Date()) {
  const insertSession = prepareInsertSession(db);
  return {
    absoluteExpiry: (createdAt: Date) => absoluteExpiry(policy, createdAt),

    /**
     * A new session for a user who just proved `methods` (in the order used). An impersonation session (opened by
     * an administrator) lives at most `ttlSeconds` and evicts none of the user's own sessions.
     */
    async create(
      userId: string,
      client: { ipAddress: string | null; userAgent: string | null },
      methods: AuthMethod[],
      impersonation?: { impersonatorId: string; ttlSeconds: number },
    ): Promise<IssuedSession> {
      const createdAt = now();
      const { amr, aal } = assuranceOf(methods, createdAt);
      const ownExpiry = nextExpiry(policy, createdAt, createdAt);
      const expiresAt =
        impersonation === undefined ? ownExpiry : new Date(Math.min(ownExpiry.getTime(), createdAt.getTime() + impersonation.ttlSeconds * 1000));
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
        amr,
        aal,
        impersonatorId: impersonation?.impersonatorId ?? null,
        keepExisting: impersonation === undefined ? policy.maxSessionsPerUser - 1 : NO_EVICTION,
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

    /**
     * The live sessions of each of several users in one query (a page of users with their sessions costs one query,
     * not one per user), each user's most recently active first; a user without any maps to [].
     */
    async listForUsers(userIds: readonly string[]): Promise<Map<string, SessionListing[]>> {
      const byUser = new Map(userIds.map((userId) => [userId, [] as SessionListing[]]));
      if (userIds.length === 0) return byUser;
      const rows = await db
        .select({ ...sessionColumns, lastActiveAt: sessions.lastActiveAt, ipAddress: sessions.ipAddress, userAgent: sessions.userAgent })
        .from(sessions)
        .where(and(inArray(sessions.userId, [...userIds]), gt(sessions.expiresAt, now())))
        .orderBy(desc(sessions.lastActiveAt));
      for (const row of rows) byUser.get(row.userId)?.push(row);
      return byUser;
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

    /**
     * Ends every session of the user except `keepSessionId`, and every sign-in waiting for a second factor (an
     * mfaToken is a session to be: "sign out everywhere" must not leave one to finish); returns the ended ids.
     */
    async revokeAll(userId: string, keepSessionId?: string): Promise<string[]> {
      await db.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId));
      const condition = keepSessionId === undefined ? eq(sessions.userId, userId) : and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId));
      const removed = await db.delete(sessions).where(condition).returning({ id: sessions.id });
      for (const { id } of removed) await bus.publish({ kind: "session", sessionId: id });
      return removed.map((row) => row.id);
    },

    /**
     * The user proved a factor again (step-up): authTime moves to now. Published like a revocation, so every
     * instance's cache forgets the session and reads the new authTime; until then a stale copy can only refuse
     * (STEP_UP_REQUIRED), never admit. Null if the session is gone.
     */
    async renewAuthentication(sessionId: string): Promise<SessionInfo | null> {
      const [renewed] = await db
        .update(sessions)
        .set({ authTime: now() })
        .where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, now())))
        .returning(sessionColumns);
      await bus.publish({ kind: "session", sessionId });
      return renewed ?? null;
    },

    /**
     * The user proved another factor inside this session (a second factor just set up): `method` joins its amr,
     * aal is counted again and authTime moves to now. Published like renewAuthentication. Null if the session is gone.
     */
    async addProof(session: SessionInfo, method: AuthMethod): Promise<SessionInfo | null> {
      const at = now();
      const { amr, aal } = assuranceOf([...session.amr, method], at);
      const [raised] = await db
        .update(sessions)
        .set({ amr, aal, authTime: at })
        .where(and(eq(sessions.id, session.id), gt(sessions.expiresAt, at)))
        .returning(sessionColumns);
      await bus.publish({ kind: "session", sessionId: session.id });
      return raised ?? null;
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
