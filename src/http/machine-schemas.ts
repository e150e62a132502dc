import { z } from "@hono/zod-openapi";
import type { ApiKeyRow } from "../machine/api-keys.ts";
import type { OAuthClientRow } from "../machine/oauth-clients.ts";
import { MAX_SCOPE_LENGTH, MAX_SCOPES, SCOPE_TOKEN } from "../machine/scopes.ts";
import { plainText } from "./schemas.ts";

/** Scopes as the APIs take them: distinct RFC 6749 scope-tokens, bounded. */
export const Scopes = z
  .array(z.string().min(1).max(MAX_SCOPE_LENGTH).regex(SCOPE_TOKEN, "A scope is printable ASCII without spaces, quotes or backslashes"))
  .max(MAX_SCOPES)
  .transform((scopes) => [...new Set(scopes)])
  .openapi({ type: "array", items: { type: "string" }, example: ["reports:read"], description: `At most ${MAX_SCOPES} RFC 6749 scope-tokens` });

export const DisplayName = plainText(100).openapi({ example: "CI deploy script" });

export const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: "The key's first characters, to recognise it; no secret", example: "sa_3kT9xQ2b" }),
    scopes: z.array(z.string()),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().openapi({ description: "Updated at most once a minute" }),
  })
  .openapi("ApiKey");

export function apiKeyJson(key: ApiKeyRow) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  };
}

export const OAuthClientSchema = z
  .object({
    id: z.uuid().openapi({ description: "The client_id, and the `sub` of its access tokens" }),
    name: z.string(),
    scopes: z.array(z.string()),
    accessTokenTtl: z.number().int().nullable().openapi({ description: "Seconds its tokens live; null: MACHINE_TOKEN_TTL" }),
    disabled: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("OAuthClient");

export function oauthClientJson(client: OAuthClientRow) {
  return {
    id: client.id,
    name: client.name,
    scopes: client.scopes,
    accessTokenTtl: client.accessTokenTtl,
    disabled: client.disabledAt !== null,
    createdAt: client.createdAt.toISOString(),
    updatedAt: client.updatedAt.toISOString(),
  };
}
