import { and, eq, gt, isNull } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { refreshTokens, sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import { generateOpaqueToken, hashOpaqueToken } from "../tokens/opaque-token.ts";

export type SessionInfo = { id: string; userId: string; createdAt: Date; expiresAt: Date };
export type AuthenticatedSession = { session: SessionInfo; user: UserRow };
/** A new session with the two secrets the client gets; only their hashes are stored. */
export type IssuedSession = { session: SessionInfo; sessionToken: string; refreshToken: string };

export type SessionPolicy = {
  /** A session and its refresh token lapse after this long without a refresh. */
  refreshTtlSeconds: number;
  /** No session outlives this, refreshed or not. */
  sessionMaxAgeSeconds: number;
};

const sessionColumns = {
  id: sessions.id,
  userId: sessions.userId,
  createdAt: sessions.createdAt,
  expiresAt: sessions.expiresAt,
};

export function createSessionService(db: Database, policy: SessionPolicy, now: () => Date = () => new Date()) {
  /** The expiry a refresh grants: the idle lifetime from now, capped by the absolute lifetime. */
  function nextExpiry(createdAt: Date, at: Date): Date {
    const idle = at.getTime() + policy.refreshTtlSeconds * 1000;
    return new Date(Math.min(idle, absoluteExpiry(createdAt).getTime()));
  }

  function absoluteExpiry(createdAt: Date): Date {
    return new Date(createdAt.getTime() + policy.sessionMaxAgeSeconds * 1000);
  }

  async function findWhere(condition: ReturnType<typeof eq>): Promise<AuthenticatedSession | null> {
    const [row] = await db
      .select({ session: sessionColumns, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(condition, gt(sessions.expiresAt, now())));
    return row ?? null;
  }

  return {
    /** The moment no refresh can extend the session past; browser cookies live until then. */
    absoluteExpiry,

    async create(userId: string, client: { ipAddress: string | null; userAgent: string | null }): Promise<IssuedSession> {
      const createdAt = now();
      const expiresAt = nextExpiry(createdAt, createdAt);
      const sessionToken = generateOpaqueToken();
      const refreshToken = generateOpaqueToken();
      const session = await db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(sessions)
          .values({ userId, tokenHash: hashOpaqueToken(sessionToken), createdAt, expiresAt, ...client })
          .returning(sessionColumns);
        if (inserted === undefined) throw new Error("session insert returned nothing");
        await tx.insert(refreshTokens).values({ sessionId: inserted.id, tokenHash: hashOpaqueToken(refreshToken), expiresAt });
        return inserted;
      });
      return { session, sessionToken, refreshToken };
    },

    findBySessionToken: (sessionToken: string) => findWhere(eq(sessions.tokenHash, hashOpaqueToken(sessionToken))),

    findById: (sessionId: string) => findWhere(eq(sessions.id, sessionId)),

    /** Deletes the session; its refresh tokens go with it (foreign key cascade). */
    async revoke(sessionId: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.id, sessionId));
    },

    /**
     * Exchanges a current refresh token for a new one and extends the session. The old token is retired by a
     * conditional UPDATE, so of any number of concurrent exchanges of one token exactly one succeeds.
     */
    async rotateRefreshToken(refreshToken: string): Promise<{ session: SessionInfo; refreshToken: string } | null> {
      const at = now();
      return db.transaction(async (tx) => {
        const [retired] = await tx
          .update(refreshTokens)
          .set({ replacedAt: at })
          .where(
            and(
              eq(refreshTokens.tokenHash, hashOpaqueToken(refreshToken)),
              isNull(refreshTokens.replacedAt),
              gt(refreshTokens.expiresAt, at),
            ),
          )
          .returning({ sessionId: refreshTokens.sessionId });
        if (retired === undefined) return null;
        const [session] = await tx
          .select(sessionColumns)
          .from(sessions)
          .where(and(eq(sessions.id, retired.sessionId), gt(sessions.expiresAt, at)));
        if (session === undefined) return null;
        const expiresAt = nextExpiry(session.createdAt, at);
        const next = generateOpaqueToken();
        await tx.update(sessions).set({ expiresAt }).where(eq(sessions.id, session.id));
        await tx.insert(refreshTokens).values({ sessionId: session.id, tokenHash: hashOpaqueToken(next), expiresAt });
        return { session: { ...session, expiresAt }, refreshToken: next };
      });
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
