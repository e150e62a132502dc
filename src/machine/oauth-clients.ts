import { timingSafeEqual } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import type { Actor } from "../admin/actor.ts";
import type { Database } from "../db/client.ts";
import { oauthClients } from "../db/tables/machine.ts";
import { AppError } from "../errors.ts";
import type { AuditLog } from "../observability/audit.ts";
import { hashOpaqueToken } from "../tokens/opaque-token.ts";
import { generateClientSecret, isWellFormedClientSecret } from "./secret-format.ts";

export type OAuthClientRow = typeof oauthClients.$inferSelect;
export type NewOAuthClient = { name: string; scopes: string[]; accessTokenTtl?: number | null | undefined };
export type OAuthClientChange = Partial<NewOAuthClient> & { disabled?: boolean | undefined };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Compared against when the client is unknown, so an unknown client_id costs what a wrong secret does. */
const DECOY_HASH = Buffer.from(hashOpaqueToken(generateClientSecret()));

/**
 * OAuth 2.0 machine clients: the admin API's side (create, list, change, delete, rotate the secret; each audited
 * with the acting administrator) and the token endpoint's side (authenticate). The secret is shown once and only
 * its SHA-256 is stored: it carries 256 random bits, so a slow hash would add cost and nothing else.
 */
export function createOAuthClients(deps: { db: Database; audit: Pick<AuditLog, "record"> }) {
  const { db, audit } = deps;

  async function find(id: string): Promise<OAuthClientRow | null> {
    if (!UUID.test(id)) return null;
    const [row] = await db.select().from(oauthClients).where(eq(oauthClients.id, id));
    return row ?? null;
  }

  async function existing(id: string): Promise<OAuthClientRow> {
    const row = await find(id);
    if (row === null) throw new AppError("NOT_FOUND", { message: "No such client" });
    return row;
  }

  return {
    find,

    async create(request: NewOAuthClient, actor: Actor): Promise<{ client: OAuthClientRow; clientSecret: string }> {
      const clientSecret = generateClientSecret();
      const [client] = await db
        .insert(oauthClients)
        .values({ name: request.name, scopes: request.scopes, accessTokenTtl: request.accessTokenTtl ?? null, secretHash: hashOpaqueToken(clientSecret), createdBy: actor.adminId })
        .returning();
      if (client === undefined) throw new Error("client insert returned no row");
      await audit.record("admin.client_created", { actorId: actor.adminId, payload: { clientId: client.id, name: client.name, scopes: client.scopes } }, actor.audit);
      return { client, clientSecret };
    },

    list: (): Promise<OAuthClientRow[]> => db.select().from(oauthClients).orderBy(desc(oauthClients.createdAt)),

    get: existing,

    /** Changes name, scopes, token lifetime or the disabled mark; a disabled client is refused from its next request on. */
    async update(id: string, change: OAuthClientChange, actor: Actor): Promise<OAuthClientRow> {
      await existing(id);
      const { disabled, ...fields } = change;
      const [updated] = await db
        .update(oauthClients)
        .set({ ...fields, ...(disabled === undefined ? {} : { disabledAt: disabled ? new Date() : null }) })
        .where(eq(oauthClients.id, id))
        .returning();
      if (updated === undefined) throw new AppError("NOT_FOUND", { message: "No such client" });
      await audit.record("admin.client_updated", { actorId: actor.adminId, payload: { clientId: id, changed: Object.keys(change) } }, actor.audit);
      return updated;
    },

    async remove(id: string, actor: Actor): Promise<void> {
      const removed = UUID.test(id) ? await db.delete(oauthClients).where(eq(oauthClients.id, id)).returning({ id: oauthClients.id }) : [];
      if (removed.length === 0) throw new AppError("NOT_FOUND", { message: "No such client" });
      await audit.record("admin.client_deleted", { actorId: actor.adminId, payload: { clientId: id } }, actor.audit);
    },

    /** A new secret, shown once; the old one stops working at once (tokens already issued live out their short life). */
    async rotateSecret(id: string, actor: Actor): Promise<{ client: OAuthClientRow; clientSecret: string }> {
      const clientSecret = generateClientSecret();
      const [client] = UUID.test(id)
        ? await db.update(oauthClients).set({ secretHash: hashOpaqueToken(clientSecret) }).where(eq(oauthClients.id, id)).returning()
        : [];
      if (client === undefined) throw new AppError("NOT_FOUND", { message: "No such client" });
      await audit.record("admin.client_secret_rotated", { actorId: actor.adminId, payload: { clientId: id } }, actor.audit);
      return { client, clientSecret };
    },

    /**
     * The enabled client whose secret this is, or null. Unknown ids, malformed secrets and disabled clients do the
     * same work as a wrong secret (one lookup, one hash, one constant-time comparison), so the answer's timing
     * does not tell which client ids exist.
     */
    async authenticate(clientId: string, clientSecret: string): Promise<OAuthClientRow | null> {
      const client = await find(clientId);
      const presented = Buffer.from(hashOpaqueToken(clientSecret));
      const stored = client === null ? DECOY_HASH : Buffer.from(client.secretHash);
      const matches = presented.length === stored.length && timingSafeEqual(presented, stored);
      if (!matches || client === null || client.disabledAt !== null || !isWellFormedClientSecret(clientSecret)) return null;
      return client;
    },
  };
}

export type OAuthClients = ReturnType<typeof createOAuthClients>;
