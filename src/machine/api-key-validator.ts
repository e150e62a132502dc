import { timingSafeEqual } from "node:crypto";
import { assertNotBanned } from "../admin/bans.ts";
import type { UserRow } from "../auth/users.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { Logger } from "../observability/logger.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SessionInfo } from "../sessions/session-service.ts";
import { opaqueTokenDigest } from "../tokens/opaque-token.ts";
import type { ApiKeyCache, CachedApiKey } from "./api-key-cache.ts";
import type { ApiKeyRow, ApiKeys } from "./api-keys.ts";
import { createApiKeyIdReader } from "./secret-format.ts";

/**
 * What an API key authenticates: its owner, and a session-shaped view of the key so the rest of the app (GET
 * /auth/me, audit, rate limits) treats it like any login. Its amr is ["key"]: the step-up checks refuse it for
 * every sensitive action (FORBIDDEN_FOR_API_KEY, src/flows/step-up.ts).
 */
export type ApiKeyAuthentication = { session: SessionInfo; user: UserRow; apiKey: { id: string; scopes: string[] } };

const SHA256_BYTES = 32;

/** A revoked key's later use is audited at most this often per key and instance: a client retrying in a loop floods nothing. */
const REVOKED_USE_AUDIT_INTERVAL_MS = 60_000;

/**
 * The hot path for `Authorization: Bearer sa_...`. The checksum turns away typos and junk before any lookup; a warm
 * key is answered from the per-process cache (trusted only while the revocation bus is connected, as sessions
 * are), and the presented key's SHA-256 is compared with the stored one in constant time. No write per request:
 * lastUsedAt moves at most once per API_KEY_USAGE_RESOLUTION, in the background.
 */
export function createApiKeyValidator(deps: {
  keys: Pick<ApiKeys, "find" | "touch" | "usageResolutionMs">;
  cache: ApiKeyCache;
  bus: RevocationBus;
  audit: Pick<AuditLog, "record">;
  logger: Logger;
  now?: () => Date;
}) {
  const { keys, cache, bus, audit, logger, now = () => new Date() } = deps;
  bus.subscribe((event) => cache.apply(event));
  const idOf = createApiKeyIdReader();
  // One view per key row, as the session cache keeps one session object per session: a new row (a reload after any
  // change) gets a new view, and what is derived from the view (GET /auth/me's body) is derived once per row.
  const sessionViews = new WeakMap<ApiKeyRow, SessionInfo>();
  const sessionViewFor = (key: ApiKeyRow) => {
    let view = sessionViews.get(key);
    if (view === undefined) sessionViews.set(key, (view = sessionViewOf(key)));
    return view;
  };
  // The stored hash as bytes, decoded once per key row rather than on every request. Node's decoder is lenient
  // (padding, "+/", stray characters): only the spelling hashOpaqueToken writes counts, as it does where a key is
  // revoked by its hash (token-revocation.ts); any other stored value matches no key.
  const storedDigests = new WeakMap<ApiKeyRow, Buffer | null>();
  const storedDigestOf = (key: ApiKeyRow) => {
    let digest = storedDigests.get(key);
    if (digest === undefined) {
      const decoded = Buffer.from(key.secretHash, "base64url");
      digest = decoded.length === SHA256_BYTES && decoded.toString("base64url") === key.secretHash ? decoded : null;
      storedDigests.set(key, digest);
    }
    return digest;
  };

  async function lookup(id: string): Promise<CachedApiKey | null> {
    const trusted = bus.isConnected();
    const cached = trusted ? cache.get(id) : undefined;
    if (cached !== undefined) return cached;
    const readGeneration = cache.generation();
    const found = await keys.find(id);
    if (found === null) return null;
    if (trusted) cache.store(found, readGeneration);
    return found;
  }

  function recordUse(key: ApiKeyRow): void {
    const at = new Date();
    if (key.lastUsedAt !== null && at.getTime() - key.lastUsedAt.getTime() < keys.usageResolutionMs) return;
    key.lastUsedAt = at;
    keys.touch(key.id).catch((error: unknown) => logger.warn({ err: error }, "api key lastUsedAt not recorded"));
  }

  async function auditRevokedUse(entry: CachedApiKey, context: () => AuditContext): Promise<void> {
    const at = Date.now();
    if (entry.lastUseAuditedAt !== undefined && at - entry.lastUseAuditedAt < REVOKED_USE_AUDIT_INTERVAL_MS) return;
    entry.lastUseAuditedAt = at;
    await audit.record("api_key.used_after_revoke", { userId: entry.user.id, payload: { apiKeyId: entry.key.id } }, context());
  }

  return {
    /**
     * The owner behind a live key, or null (malformed, unknown, wrong secret, revoked, expired, owner pending
     * deletion). ACCOUNT_BANNED for a banned owner, as for a session. `context` gives the audit context of a
     * revoked key's use (built only then: this runs on every request).
     */
    async validate(presented: string, context: () => AuditContext): Promise<ApiKeyAuthentication | null> {
      const id = idOf(presented);
      if (id === null) return null;
      const entry = await lookup(id);
      if (entry === null) return null;
      const { key, user } = entry;
      const storedDigest = storedDigestOf(key);
      if (storedDigest === null || !timingSafeEqual(opaqueTokenDigest(presented), storedDigest)) return null;
      if (key.revokedAt !== null) {
        await auditRevokedUse(entry, context);
        return null;
      }
      const at = now();
      if (key.expiresAt <= at) return null;
      if (user.deletionScheduledAt !== null) return null;
      assertNotBanned(user, at);
      recordUse(key);
      return { session: sessionViewFor(key), user, apiKey: { id: key.id, scopes: key.scopes } };
    },
  };
}

export type ApiKeyValidator = ReturnType<typeof createApiKeyValidator>;

function sessionViewOf(key: ApiKeyRow): SessionInfo {
  return {
    id: key.id,
    userId: key.userId,
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    impersonatorId: null,
    amr: ["key"],
    aal: 1,
    authTime: key.createdAt,
  };
}
