import { sql } from "drizzle-orm";
import { index, integer, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { timestamps } from "./timestamps.ts";
import { users } from "./users.ts";

/**
 * Personal API keys (src/machine/api-keys.ts). The key's id part is this row's id; only a SHA-256 of the whole key
 * is kept. A revoked key keeps its row (revoked_at set) so that a later use of it can be told apart from garbage
 * and audited; the owner's deletion removes them all.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The first characters of the key (`sa_` + 8), for its owner to recognise it; no secret bits. */
    prefix: text("prefix").notNull(),
    secretHash: text("secret_hash").notNull(),
    scopes: text("scopes").array().notNull().default(sql`'{}'::text[]`),
    /** Every key expires (API_KEY_MAX_TTL at the latest). */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** Moved forward at most once a minute, in the background: validation never writes per request. */
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    ...timestamps,
  },
  (table) => [index("api_keys_user_id_idx").on(table.userId)],
);

/** OAuth 2.0 machine clients (client credentials grant, src/machine/oauth-clients.ts); the secret is kept as SHA-256. */
export const oauthClients = pgTable("oauth_clients", {
  /** The client_id, and the `sub` of its access tokens. */
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  secretHash: text("secret_hash").notNull(),
  scopes: text("scopes").array().notNull().default(sql`'{}'::text[]`),
  /** Seconds its access tokens live; null: MACHINE_TOKEN_TTL. */
  accessTokenTtl: integer("access_token_ttl"),
  /** A disabled client gets no token and its tokens introspect as inactive. */
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
  createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
  ...timestamps,
});
