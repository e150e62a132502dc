import type { UserRow } from "../auth/users.ts";
import type { RevocationEvent } from "../sessions/revocation-bus.ts";
import type { ApiKeyRow } from "./api-keys.ts";

/** A key row (revoked ones too: their later use is answered and audited without a query) with its owner. */
export type CachedApiKey = { key: ApiKeyRow; user: UserRow; lastUseAuditedAt?: number };

type Entry = { value: CachedApiKey; cachedAt: number };

/**
 * Per-process API-key state, like the session cache (src/sessions/session-cache.ts): bounded in size and age,
 * emptied precisely by revocation events (`apiKey` for one key, `user` for every key of its owner: a ban, a
 * deletion, a role change), with the same generation counter so a database read that raced an event is not kept.
 */
export function createApiKeyCache(options: { maxEntries: number; maxAgeMs: number }) {
  const byId = new Map<string, Entry>();
  const idsByUser = new Map<string, Set<string>>();
  let generation = 0;

  function remove(id: string) {
    const entry = byId.get(id);
    if (entry === undefined) return;
    byId.delete(id);
    const userKeys = idsByUser.get(entry.value.user.id);
    userKeys?.delete(id);
    if (userKeys?.size === 0) idsByUser.delete(entry.value.user.id);
  }

  return {
    generation: () => generation,

    get(id: string): CachedApiKey | undefined {
      const entry = byId.get(id);
      if (entry === undefined) return undefined;
      if (Date.now() - entry.cachedAt > options.maxAgeMs) {
        remove(id);
        return undefined;
      }
      return entry.value;
    },

    /** Stores a database read unless an event arrived since it started (readGeneration). */
    store(value: CachedApiKey, readGeneration: number) {
      if (readGeneration !== generation) return;
      remove(value.key.id);
      if (byId.size >= options.maxEntries) {
        const oldest = byId.keys().next().value;
        if (oldest !== undefined) remove(oldest);
      }
      byId.set(value.key.id, { value, cachedAt: Date.now() });
      let userKeys = idsByUser.get(value.user.id);
      if (userKeys === undefined) idsByUser.set(value.user.id, (userKeys = new Set()));
      userKeys.add(value.key.id);
    },

    apply(event: RevocationEvent) {
      // Not about keys: a fill racing these need not be discarded (outbox wake-ups come with every mail).
      if (event.kind === "outbox" || event.kind === "session") return;
      generation += 1;
      if (event.kind === "apiKey") remove(event.apiKeyId);
      else if (event.kind === "user") for (const id of [...(idsByUser.get(event.userId) ?? [])]) remove(id);
      else if (event.kind === "reset") {
        byId.clear();
        idsByUser.clear();
      }
    },
  };
}

export type ApiKeyCache = ReturnType<typeof createApiKeyCache>;
