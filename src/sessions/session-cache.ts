import type { AuthenticatedSession } from "./session-service.ts";
import type { RevocationEvent } from "./revocation-bus.ts";

export type CachedSession = AuthenticatedSession & { lastActiveAt: Date };

type Entry = { value: CachedSession; tokenHash: string | null; cachedAt: number };

/**
 * Per-process session state, so a warm request needs no database round trip. Bounded in size and age; emptied
 * precisely by revocation events. `generation` moves on every event: a database read that started before an
 * event must not be cached after it (it may hold the very row the event revoked).
 */
export function createSessionCache(options: { maxEntries: number; maxAgeMs: number }) {
  const bySessionId = new Map<string, Entry>();
  const sessionIdByTokenHash = new Map<string, string>();
  const sessionIdsByUser = new Map<string, Set<string>>();
  let generation = 0;

  function remove(sessionId: string) {
    const entry = bySessionId.get(sessionId);
    if (entry === undefined) return;
    bySessionId.delete(sessionId);
    if (entry.tokenHash !== null) sessionIdByTokenHash.delete(entry.tokenHash);
    const userSessions = sessionIdsByUser.get(entry.value.user.id);
    userSessions?.delete(sessionId);
    if (userSessions?.size === 0) sessionIdsByUser.delete(entry.value.user.id);
  }

  function fresh(entry: Entry | undefined): CachedSession | undefined {
    if (entry === undefined) return undefined;
    const now = Date.now();
    if (now - entry.cachedAt > options.maxAgeMs || entry.value.session.expiresAt.getTime() <= now) {
      remove(entry.value.session.id);
      return undefined;
    }
    return entry.value;
  }

  return {
    generation: () => generation,

    bySessionId: (sessionId: string) => fresh(bySessionId.get(sessionId)),

    byTokenHash(tokenHash: string) {
      const sessionId = sessionIdByTokenHash.get(tokenHash);
      return sessionId === undefined ? undefined : fresh(bySessionId.get(sessionId));
    },

    /** The user behind any fresh cached session of theirs (a `user` event drops them all, so it is current). */
    userById(userId: string) {
      for (const sessionId of sessionIdsByUser.get(userId) ?? []) {
        const value = fresh(bySessionId.get(sessionId));
        if (value !== undefined) return value.user;
      }
      return undefined;
    },

    /** Stores a database read unless an event arrived since it started (readGeneration). */
    store(value: CachedSession, tokenHash: string | null, readGeneration: number) {
      if (readGeneration !== generation) return;
      const existing = bySessionId.get(value.session.id);
      remove(value.session.id);
      if (bySessionId.size >= options.maxEntries) {
        const oldest = bySessionId.keys().next().value;
        if (oldest !== undefined) remove(oldest);
      }
      const knownHash = tokenHash ?? existing?.tokenHash ?? null;
      bySessionId.set(value.session.id, { value, tokenHash: knownHash, cachedAt: Date.now() });
      if (knownHash !== null) sessionIdByTokenHash.set(knownHash, value.session.id);
      let userSessions = sessionIdsByUser.get(value.user.id);
      if (userSessions === undefined) sessionIdsByUser.set(value.user.id, (userSessions = new Set()));
      userSessions.add(value.session.id);
    },

    apply(event: RevocationEvent) {
      // Not about sessions: a fill racing these need not be discarded.
      if (event.kind === "outbox" || event.kind === "apiKey") return;
      generation += 1;
      if (event.kind === "session") remove(event.sessionId);
      else if (event.kind === "user") for (const sessionId of [...(sessionIdsByUser.get(event.userId) ?? [])]) remove(sessionId);
      else if (event.kind === "reset") {
        bySessionId.clear();
        sessionIdByTokenHash.clear();
        sessionIdsByUser.clear();
      }
    },

    size: () => bySessionId.size,
  };
}

export type SessionCache = ReturnType<typeof createSessionCache>;
