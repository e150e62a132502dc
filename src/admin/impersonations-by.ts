import { inArray } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";

type Executor = Pick<Database, "delete">;

/**
 * Deletes the impersonation sessions these users opened as administrators (their refresh tokens go with them);
 * returns the ended session ids. Called inside the transaction that takes the administrators away, before any
 * delete of the users themselves: the ON DELETE CASCADE would remove these rows without naming them, and every
 * instance's cache would keep admitting their access tokens.
 */
export async function endImpersonationsBy(tx: Executor, adminIds: string[]): Promise<string[]> {
  if (adminIds.length === 0) return [];
  const ended = await tx.delete(sessions).where(inArray(sessions.impersonatorId, adminIds)).returning({ id: sessions.id });
  return ended.map((row) => row.id);
}

/** Tells every instance to forget each ended session, once the transaction that ended them is committed. */
export async function publishEnded(bus: RevocationBus, sessionIds: readonly string[]): Promise<void> {
  for (const sessionId of sessionIds) await bus.publish({ kind: "session", sessionId });
}
