import { and, asc, eq, or, type SQL, sql } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { refusingBadData } from "../db/errors.ts";
import { accounts } from "../db/tables/accounts.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { SecondFactorType } from "../db/tables/mfa.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";
import type { FactorStore } from "../mfa/factor-store.ts";
import type { SessionListing, SessionService } from "../sessions/session-service.ts";
import { decodeCursor, encodeCursor } from "./keyset-cursor.ts";
import { statusCondition, type UserStatus } from "./user-status.ts";

export type UserSearch = { q?: string | undefined; role?: string | undefined; status?: UserStatus | undefined; limit: number; cursor?: string | undefined };

export type LinkedAccount = { providerId: string; accountId: string; createdAt: Date };

/** A confirmed second factor as an administrator sees it: which, since when, last used (never its secret). */
export type SecondFactorSummary = { type: SecondFactorType; createdAt: Date; lastUsedAt: Date | null };

/** Everything GET /auth/admin/users/{id} shows besides the user row itself. */
export type UserDetail = {
  user: UserRow;
  sessions: SessionListing[];
  linkedAccounts: LinkedAccount[];
  hasPassword: boolean;
  secondFactors: SecondFactorSummary[];
  recoveryCodesLeft: number;
  /** Passkeys and security keys: each signs in on its own. */
  passkeys: number;
};

/** The password account is not a linked account: it is how the user signs in with a password (hasPassword). */
const CREDENTIAL_PROVIDER = "credential";

/** `%`, `_` and `\` match literally in a LIKE prefix. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Reading users for the admin API: search with keyset paging, one user with sessions and linked accounts. */
export function createUserDirectory(deps: {
  db: Database;
  sessions: Pick<SessionService, "list">;
  factors: Pick<FactorStore, "list" | "recoveryCodesLeft">;
  passkeys: Pick<PasskeyStore, "countOf">;
  now: () => Date;
}) {
  const { db } = deps;

  return {
    /**
     * A page of users, oldest first. `q` is a prefix of the email or username, ignoring case. The cursor is the
     * previous page's nextCursor (src/admin/keyset-cursor.ts); VALIDATION_FAILED for one this server did not make.
     */
    async search(query: UserSearch): Promise<{ users: UserRow[]; nextCursor: string | null }> {
      const conditions: Array<SQL | undefined> = [];
      if (query.q !== undefined) {
        const prefix = `${escapeLike(query.q.toLowerCase())}%`;
        conditions.push(or(sql`lower(${users.email}) like ${prefix}`, sql`lower(${users.username}) like ${prefix}`));
      }
      if (query.role !== undefined) conditions.push(sql`${query.role} = any(${users.roles})`);
      if (query.status !== undefined) conditions.push(statusCondition(query.status, deps.now()));
      if (query.cursor !== undefined) {
        const after = decodeCursor(query.cursor);
        if (after === null) throw new AppError("VALIDATION_FAILED", { errors: [{ path: "cursor", message: "Not a cursor from this list" }] });
        conditions.push(sql`(${users.createdAt}, ${users.id}) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`);
      }
      // One more than asked tells whether a next page exists without a count query.
      const rows = await refusingBadData(
        db
          .select({ user: users, position: sql<string>`${users.createdAt}::text` })
          .from(users)
          .where(and(...conditions))
          .orderBy(asc(users.createdAt), asc(users.id))
          .limit(query.limit + 1),
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      const nextCursor = rows.length > query.limit && last !== undefined ? encodeCursor({ createdAt: last.position, id: last.user.id }) : null;
      return { users: page.map((row) => row.user), nextCursor };
    },

    /** The user with their live sessions, linked accounts and second factors; NOT_FOUND if no user has this id. */
    async detail(userId: string): Promise<UserDetail> {
      const user = await findUser(db, userId);
      const owned = await db
        .select({ providerId: accounts.providerId, accountId: accounts.accountId, createdAt: accounts.createdAt, password: accounts.password })
        .from(accounts)
        .where(eq(accounts.userId, userId));
      return {
        user,
        sessions: await deps.sessions.list(userId),
        linkedAccounts: owned.filter((row) => row.providerId !== CREDENTIAL_PROVIDER).map(({ password: _, ...linked }) => linked),
        hasPassword: owned.some((row) => row.providerId === CREDENTIAL_PROVIDER && Boolean(row.password)),
        secondFactors: (await deps.factors.list(userId))
          .filter((factor) => factor.confirmedAt !== null)
          .map(({ type, createdAt, lastUsedAt }) => ({ type, createdAt, lastUsedAt })),
        recoveryCodesLeft: await deps.factors.recoveryCodesLeft(userId),
        passkeys: await deps.passkeys.countOf(userId),
      };
    },
  };
}

/** Ids arrive as path segments; anything else is answered as an unknown id (NOT_FOUND), never a 400 that tells the shape. */
export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/** The user with this id; NOT_FOUND otherwise (a malformed id too, so ids cannot be probed by their shape). */
export async function findUser(db: Database, userId: string): Promise<UserRow> {
  if (!isUuid(userId)) throw new AppError("NOT_FOUND", { message: "No user has this id" });
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  if (user === undefined) throw new AppError("NOT_FOUND", { message: "No user has this id" });
  return user;
}

export type UserDirectory = ReturnType<typeof createUserDirectory>;
