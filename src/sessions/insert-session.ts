import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { refreshTokens, sessions } from "../db/tables/sessions.ts";
import type { AssuranceLevel, AuthMethod } from "./assurance.ts";

/** A session as the services see it (SessionInfo): what every read and the insert below return. */
export const sessionColumns = {
  id: sessions.id,
  userId: sessions.userId,
  createdAt: sessions.createdAt,
  expiresAt: sessions.expiresAt,
  amr: sessions.amr,
  aal: sessions.aal,
  authTime: sessions.authTime,
  impersonatorId: sessions.impersonatorId,
};

export type SessionInsert = {
  userId: string;
  sessionTokenHash: string;
  refreshTokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  ipAddress: string | null;
  userAgent: string | null;
  /** The assurance of the sign-in; its auth_time is createdAt. */
  amr: AuthMethod[];
  aal: AssuranceLevel;
  /** The administrator who opens this session as the user (impersonation); null for the user's own sign-in. */
  impersonatorId: string | null;
  /** How many of the user's existing sessions may stay: the cap minus the new one. */
  keepExisting: number;
};

/**
 * A login's writes as ONE statement (data-modifying CTEs), prepared once: insert the session, insert its refresh
 * token, delete the user's sessions beyond the cap, return the new session and the evicted ids. A single statement
 * is atomic like the transaction it replaces, but costs one round trip instead of five (BEGIN, three statements,
 * COMMIT). Every part sees the snapshot taken before the statement, so the delete does not see the new session: it
 * keeps the newest `keepExisting` of the others, which leaves the new session plus those, `cap` in all. Deleting a
 * session deletes its refresh tokens (ON DELETE CASCADE).
 */
export function prepareInsertSession(db: Database) {
  const placeholder = (name: keyof SessionInsert) => sql.placeholder(name);
  const inserted = db.$with("inserted_session").as(
    db
      .insert(sessions)
      .values({
        userId: placeholder("userId"),
        tokenHash: placeholder("sessionTokenHash"),
        createdAt: placeholder("createdAt"),
        lastActiveAt: placeholder("createdAt"),
        expiresAt: placeholder("expiresAt"),
        ipAddress: placeholder("ipAddress"),
        userAgent: placeholder("userAgent"),
        amr: placeholder("amr"),
        aal: placeholder("aal"),
        authTime: placeholder("createdAt"),
        impersonatorId: placeholder("impersonatorId"),
      })
      .returning(sessionColumns),
  );
  // Not read by the final select: PostgreSQL runs every data-modifying CTE to completion regardless.
  const insertedRefreshToken = db.$with("inserted_refresh_token").as(
    db.insert(refreshTokens).values({
      sessionId: sql`(select ${inserted.id} from ${inserted})`,
      tokenHash: placeholder("refreshTokenHash"),
      expiresAt: placeholder("expiresAt"),
    }),
  );
  const beyondCap = db
    .select({ id: sessions.id })
    .from(sessions)
    .where(eq(sessions.userId, placeholder("userId")))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .offset(placeholder("keepExisting"));
  const evicted = db.$with("evicted").as(
    db
      .delete(sessions)
      .where(and(eq(sessions.userId, placeholder("userId")), inArray(sessions.id, beyondCap)))
      .returning({ id: sessions.id }),
  );
  const statement = db
    .with(inserted, insertedRefreshToken, evicted)
    .select({
      id: inserted.id,
      userId: inserted.userId,
      createdAt: inserted.createdAt,
      expiresAt: inserted.expiresAt,
      amr: inserted.amr,
      aal: inserted.aal,
      authTime: inserted.authTime,
      impersonatorId: inserted.impersonatorId,
      evictedSessionIds: sql<string[]>`(select coalesce(json_agg(${evicted.id}), '[]') from ${evicted})`,
    })
    .from(inserted)
    .prepare("session_insert");

  return async (values: SessionInsert) => {
    const [row] = await statement.execute(values);
    if (row === undefined) throw new Error("session insert returned nothing");
    const { evictedSessionIds, ...session } = row;
    return { session, evictedSessionIds };
  };
}
