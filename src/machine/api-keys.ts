import { randomUUID } from "node:crypto";
import { and, count, desc, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { apiKeys } from "../db/tables/machine.ts";
import { users } from "../db/tables/users.ts";
import { AppError } from "../errors.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import { hashOpaqueToken } from "../tokens/opaque-token.ts";
import { displayPrefixOf, generateApiKey } from "./secret-format.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type ApiKeyPolicy = {
  /** API_KEYS_PER_USER: live keys one user may hold. */
  maxPerUser: number;
  /** API_KEY_MAX_TTL: the longest lifetime a key may be given, and the lifetime of one given none. */
  maxTtlSeconds: number;
  /** lastUsedAt is kept to this resolution, so validation never writes per request. */
  usageResolutionSeconds: number;
};
export type NewApiKey = { name: string; scopes: string[]; expiresAt?: Date | undefined };
/** Why every key of a user was revoked at once: each is a way of taking an account back after a takeover. */
export type KeyRevocationReason = "password_reset" | "password_changed" | "admin_sessions_revoked" | "admin_mfa_reset";

/**
 * Personal API keys: made, listed and revoked by their owner (from a session, never with a key: see
 * src/flows/step-up.ts), found by the hot path (api-key-validator.ts). A revocation is published on the bus, so
 * every instance's cache forgets the key at once.
 */
export function createApiKeys(deps: { db: Database; bus: RevocationBus; audit: Pick<AuditLog, "record">; policy: ApiKeyPolicy; now: () => Date }) {
  const { db, bus, audit, policy, now } = deps;
  /** Keys that still work: not revoked, not expired. */
  const live = (userId: string, at: Date) => and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), gt(apiKeys.expiresAt, at));

  return {
    usageResolutionMs: policy.usageResolutionSeconds * 1000,

    /** A new key for `user`; the key itself is returned once and only its hash is kept. */
    async create(user: UserRow, request: NewApiKey, context: AuditContext): Promise<{ apiKey: ApiKeyRow; key: string }> {
      const at = now();
      const latest = new Date(at.getTime() + policy.maxTtlSeconds * 1000);
      const expiresAt = request.expiresAt ?? latest;
      if (expiresAt <= at || expiresAt > latest) {
        const message = `Must be in the future and at most API_KEY_MAX_TTL (${policy.maxTtlSeconds} s) away`;
        throw new AppError("VALIDATION_FAILED", { errors: [{ path: "expiresAt", message }] });
      }
      const [held] = await db.select({ n: count() }).from(apiKeys).where(live(user.id, at));
      if ((held?.n ?? 0) >= policy.maxPerUser) throw new AppError("TOO_MANY_API_KEYS");
      const id = randomUUID();
      const key = generateApiKey(id);
      const [apiKey] = await db
        .insert(apiKeys)
        .values({ id, userId: user.id, name: request.name, prefix: displayPrefixOf(key), secretHash: hashOpaqueToken(key), scopes: request.scopes, expiresAt, createdAt: at })
        .returning();
      if (apiKey === undefined) throw new Error("api key insert returned no row");
      await audit.record("api_key.created", { userId: user.id, payload: { apiKeyId: id, name: request.name, scopes: request.scopes } }, context);
      return { apiKey, key };
    },

    /** The user's keys that still work, newest first. */
    async list(userId: string): Promise<ApiKeyRow[]> {
      return db.select().from(apiKeys).where(live(userId, now())).orderBy(desc(apiKeys.createdAt));
    },

    /** Revokes one of the user's keys (NOT_FOUND for another user's, an unknown or an already revoked one). */
    async revoke(userId: string, id: string, context: AuditContext): Promise<void> {
      if (!UUID.test(id)) throw new AppError("NOT_FOUND");
      const [revoked] = await db
        .update(apiKeys)
        .set({ revokedAt: now() })
        .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      if (revoked === undefined) throw new AppError("NOT_FOUND");
      await bus.publish({ kind: "apiKey", apiKeyId: id });
      await audit.record("api_key.deleted", { userId, payload: { apiKeyId: id } }, context);
    },

    /**
     * Revokes every live key of the user, as "sign out everywhere" does with sessions: whoever briefly held the
     * account could have made a key, and it would otherwise outlive the recovery by up to API_KEY_MAX_TTL. One
     * `user` event drops them from every instance's cache; one audit event lists them. Returns the revoked ids.
     */
    async revokeAllFor(userId: string, by: { reason: KeyRevocationReason; actorId?: string | null }, context: AuditContext): Promise<string[]> {
      const at = now();
      const revoked = await db.update(apiKeys).set({ revokedAt: at }).where(live(userId, at)).returning({ id: apiKeys.id });
      if (revoked.length === 0) return [];
      const apiKeyIds = revoked.map((row) => row.id);
      await bus.publish({ kind: "user", userId });
      await audit.record("api_key.deleted", { userId, actorId: by.actorId ?? null, payload: { apiKeyIds, reason: by.reason } }, context);
      return apiKeyIds;
    },

    /** The key row with its owner, revoked or not (the validator tells them apart). */
    async find(id: string): Promise<{ key: ApiKeyRow; user: UserRow } | null> {
      const [row] = await db.select({ key: apiKeys, user: users }).from(apiKeys).innerJoin(users, eq(users.id, apiKeys.userId)).where(eq(apiKeys.id, id));
      return row ?? null;
    },

    /**
     * Deletes keys revoked or expired more than `retentionDays` ago (AUDIT_RETENTION_DAYS: as long as the audit
     * trail their later use would be recorded in); until then a revoked key's use is told from junk and audited.
     */
    async purgeEnded(retentionDays: number): Promise<number> {
      const before = new Date(now().getTime() - retentionDays * 86_400_000);
      const purged = await db.delete(apiKeys).where(or(lt(apiKeys.revokedAt, before), lt(apiKeys.expiresAt, before))).returning({ id: apiKeys.id });
      return purged.length;
    },

    /** Records use; the condition keeps it to one write per resolution per key even across instances. */
    async touch(id: string): Promise<void> {
      const at = now();
      const due = new Date(at.getTime() - policy.usageResolutionSeconds * 1000);
      await db
        .update(apiKeys)
        .set({ lastUsedAt: at })
        .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, due))));
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
