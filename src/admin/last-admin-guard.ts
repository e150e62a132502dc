import { asc, eq } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database, Transaction } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import { endImpersonationsBy, publishEnded } from "./impersonations-by.ts";
import { isUuid } from "./user-directory.ts";
import { activeAdminCondition } from "./user-status.ts";

/** A change to one user, made inside the guard's transaction. */
export type GuardedChange<T> = {
  /** Whether the target is still an active administrator after the change (false: demoted, banned or deleted). */
  staysAdmin(target: UserRow): boolean;
  apply(tx: Transaction, target: UserRow): Promise<T>;
};

/**
 * Runs a change to a user that may take an administrator away, refusing it with LAST_ADMIN when it would leave no
 * active administrator. The active administrators' rows are locked first, always in id order, then the target's:
 * of two administrators demoting each other at once, the second waits for the first, then re-reads the admin set
 * (PostgreSQL re-checks a locked row against the WHERE clause) and finds itself the last one. NOT_FOUND if the
 * target does not exist.
 *
 * A change that leaves the target no administrator also ends, in the same transaction and before the change (a
 * deletion's cascade would take them unseen), the impersonation sessions the target opened; every instance is told
 * of each once the change is committed. An administrator's powers leave with the role, including the sessions
 * opened with it.
 */
export async function changeGuardingLastAdmin<T>(deps: { db: Database; bus: RevocationBus }, userId: string, now: Date, change: GuardedChange<T>): Promise<T> {
  // Before the query: PostgreSQL refuses a malformed uuid with an error, which would surface as a 500.
  if (!isUuid(userId)) throw new AppError("NOT_FOUND", { message: "No user has this id" });
  const { result, ended } = await deps.db.transaction(async (tx) => {
    const admins = await tx.select({ id: users.id }).from(users).where(activeAdminCondition(now)).orderBy(asc(users.id)).for("update");
    const [target] = await tx.select().from(users).where(eq(users.id, userId)).for("update");
    if (target === undefined) throw new AppError("NOT_FOUND", { message: "No user has this id" });
    const staysAdmin = change.staysAdmin(target);
    const isActiveAdmin = admins.some((admin) => admin.id === target.id);
    if (isActiveAdmin && admins.length === 1 && !staysAdmin) throw new AppError("LAST_ADMIN");
    const ended = staysAdmin ? [] : await endImpersonationsBy(tx, [target.id]);
    return { result: await change.apply(tx, target), ended };
  });
  await publishEnded(deps.bus, ended);
  return result;
}
