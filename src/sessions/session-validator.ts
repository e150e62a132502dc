import { assertNotBanned } from "../admin/bans.ts";
import { isActiveAdmin } from "../admin/user-status.ts";
import type { UserRow } from "../auth/users.ts";
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
export function createSessionValidator(deps: {
  sessions: SessionService;
  cache: SessionCache;
  bus: RevocationBus;
  logger: Logger;
  /** The impersonator of an impersonation session, when no session of theirs is cached. */
  findUser: (userId: string) => Promise<UserRow | undefined>;
  now?: () => Date;
}) {
  const { sessions, cache, bus, logger, now = () => new Date() } = deps;
  bus.subscribe((event) => cache.apply(event));

  async function load(by: { sessionId: string } | { tokenHash: string }): Promise<CachedSession | null> {
    const readGeneration = cache.generation();
    const row = await sessions.find(by);
    if (row === null) return null;
    const value: CachedSession = { session: row.session, user: row.user, lastActiveAt: row.lastActiveAt };
    if (bus.isConnected()) cache.store(value, "tokenHash" in by ? by.tokenHash : null, readGeneration);
    return value;
  }

  /**
   * A ban ends the user's sessions (and publishes it); this refuses a session that slipped past that (made by a
   * sign-in that raced the ban) from the cached user, so it costs no query. Likewise an impersonation session
   * whose administrator is no longer an active one (their demotion, ban or deletion ended it; this catches one
   * that raced it): read from a cached session of the administrator's, else from the database. Only
   * impersonation sessions pay that read, and they are few and short-lived.
   */
  async function admit(value: CachedSession | null): Promise<CachedSession | null> {
    if (value === null) return null;
    assertNotBanned(value.user, now());
    const { impersonatorId } = value.session;
    if (impersonatorId !== null) {
      const cached = bus.isConnected() ? cache.userById(impersonatorId) : undefined;
      const impersonator = cached ?? (await deps.findUser(impersonatorId));
      if (impersonator === undefined || !isActiveAdmin(impersonator, now())) return null;
    }
    return recordActivity(value);
  }

  function recordActivity(value: CachedSession): CachedSession {
    const at = new Date();
    if (at.getTime() - value.lastActiveAt.getTime() >= sessions.activityResolutionMs) {
      value.lastActiveAt = at;
      sessions.touch(value.session.id).catch((error: unknown) => logger.warn({ err: error }, "lastActiveAt not recorded"));
    }
    return value;
  }

  return {
    async bySessionId(sessionId: string): Promise<CachedSession | null> {
      return admit((bus.isConnected() ? cache.bySessionId(sessionId) : undefined) ?? (await load({ sessionId })));
    },

    async bySessionToken(sessionToken: string): Promise<CachedSession | null> {
      const tokenHash = hashOpaqueToken(sessionToken);
      return admit((bus.isConnected() ? cache.byTokenHash(tokenHash) : undefined) ?? (await load({ tokenHash })));
    },
  };
}

export type SessionValidator = ReturnType<typeof createSessionValidator>;
