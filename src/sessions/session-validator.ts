import type { Logger } from "../observability/logger.ts";
import { hashOpaqueToken } from "../tokens/opaque-token.ts";
import type { RevocationBus } from "./revocation-bus.ts";
import type { CachedSession, SessionCache } from "./session-cache.ts";
import type { SessionService } from "./session-service.ts";

/**
 * The hot path: the live session behind a request. Warm requests are answered from the per-process cache; the
 * cache is only trusted while the revocation bus is connected, otherwise every request asks the database (slower,
 * never stale). lastActiveAt is written at most once per SESSION_ACTIVITY_RESOLUTION (a minute) per session, in the background.
 */
export function createSessionValidator(deps: { sessions: SessionService; cache: SessionCache; bus: RevocationBus; logger: Logger }) {
  const { sessions, cache, bus, logger } = deps;
  bus.subscribe((event) => cache.apply(event));

  async function load(by: { sessionId: string } | { tokenHash: string }): Promise<CachedSession | null> {
    const readGeneration = cache.generation();
    const row = await sessions.find(by);
    if (row === null) return null;
    const value: CachedSession = { session: row.session, user: row.user, lastActiveAt: row.lastActiveAt };
    if (bus.isConnected()) cache.store(value, "tokenHash" in by ? by.tokenHash : null, readGeneration);
    return value;
  }

  function recordActivity(value: CachedSession): CachedSession {
    const now = new Date();
    if (now.getTime() - value.lastActiveAt.getTime() >= sessions.activityResolutionMs) {
      value.lastActiveAt = now;
      sessions.touch(value.session.id).catch((error: unknown) => logger.warn({ err: error }, "lastActiveAt not recorded"));
    }
    return value;
  }

  return {
    async bySessionId(sessionId: string): Promise<CachedSession | null> {
      const value = (bus.isConnected() ? cache.bySessionId(sessionId) : undefined) ?? (await load({ sessionId }));
      return value === null ? null : recordActivity(value);
    },

    async bySessionToken(sessionToken: string): Promise<CachedSession | null> {
      const tokenHash = hashOpaqueToken(sessionToken);
      const value = (bus.isConnected() ? cache.byTokenHash(tokenHash) : undefined) ?? (await load({ tokenHash }));
      return value === null ? null : recordActivity(value);
    },
  };
}

export type SessionValidator = ReturnType<typeof createSessionValidator>;
