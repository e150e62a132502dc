import { timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { apiKeys } from "../db/tables/machine.ts";
import { refreshTokens, sessions } from "../db/tables/sessions.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SessionService } from "../sessions/session-service.ts";
import { hashOpaqueToken } from "../tokens/opaque-token.ts";
import { apiKeyIdOf } from "./secret-format.ts";

/**
 * RFC 7009 token revocation: a refresh token ends its session (and so every token of it, on every instance), a
 * personal API key is revoked. Holding the token is the authority to revoke it, so a public client (a user's app,
 * a script with a leaked key) may call it without client credentials. An unknown, already revoked or malformed
 * token is no error (section 2.2): the caller learns nothing either way.
 */
export function createTokenRevocation(deps: { db: Database; bus: RevocationBus; sessions: Pick<SessionService, "revoke">; audit: Pick<AuditLog, "record">; now: () => Date }) {
  const { db, bus, audit, now } = deps;

  async function revokeApiKey(id: string, key: string, context: AuditContext): Promise<void> {
    const [row] = await db.select({ userId: apiKeys.userId, secretHash: apiKeys.secretHash }).from(apiKeys).where(eq(apiKeys.id, id));
    if (row === undefined) return;
    const presented = Buffer.from(hashOpaqueToken(key));
    const stored = Buffer.from(row.secretHash);
    if (presented.length !== stored.length || !timingSafeEqual(presented, stored)) return;
    const revoked = await db.update(apiKeys).set({ revokedAt: now() }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning({ id: apiKeys.id });
    if (revoked.length === 0) return;
    await bus.publish({ kind: "apiKey", apiKeyId: id });
    await audit.record("api_key.deleted", { userId: row.userId, payload: { apiKeyId: id, via: "oauth2/revoke" } }, context);
  }

  async function revokeRefreshToken(token: string, context: AuditContext): Promise<void> {
    const [row] = await db
      .select({ sessionId: sessions.id, userId: sessions.userId })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .where(eq(refreshTokens.tokenHash, hashOpaqueToken(token)));
    if (row === undefined) return;
    if (await deps.sessions.revoke(row.userId, row.sessionId)) {
      await audit.record("session.revoked", { userId: row.userId, sessionId: row.sessionId, payload: { via: "oauth2/revoke" } }, context);
    }
  }

  /**
   * The hint (refresh_token, api_key) is not needed: a refresh token (43 characters) is never a well-formed API
   * key (74, with a checksum), even when its random text happens to start with `sa_`.
   */
  return async function revoke(token: string, context: AuditContext): Promise<void> {
    const apiKeyId = apiKeyIdOf(token);
    if (apiKeyId !== null) await revokeApiKey(apiKeyId, token, context);
    else await revokeRefreshToken(token, context);
  };
}

export type TokenRevocation = ReturnType<typeof createTokenRevocation>;
