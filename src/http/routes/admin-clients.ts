import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { DisplayName, OAuthClientSchema, oauthClientJson, Scopes } from "../machine-schemas.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonBody, jsonResponse, problem } from "../schemas.ts";

export type AdminClientRouteDeps = Pick<Services, "oauthClients"> & { recent: MiddlewareHandler<AppEnv> };

const tags = ["admin"];
const ClientIdParam = z.object({ id: z.string().openapi({ format: "uuid", description: "The client_id" }) });
const AccessTokenTtl = z.number().int().min(60).max(86_400).nullable().openapi({ description: "Seconds its tokens live (60-86400); null: MACHINE_TOKEN_TTL" });
const WithSecret = z.object({
  client: OAuthClientSchema,
  clientSecret: z.string().openapi({ description: "Shown once; only its hash is kept", example: "sacs_…" }),
});
const NOT_FOUND = { 404: problem("NOT_FOUND: no such client") };

const listClients = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Machine clients (OAuth 2.0 client credentials), newest first",
  security: AUTHENTICATED,
  responses: { 200: jsonResponse(z.object({ clients: z.array(OAuthClientSchema) }), "Clients"), ...ADMIN_REFUSALS },
});

const createClient = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Register a machine client; its secret is shown only here",
  security: AUTHENTICATED,
  request: { body: jsonBody(z.object({ name: DisplayName, scopes: Scopes, accessTokenTtl: AccessTokenTtl.optional() })) },
  responses: { 201: jsonResponse(WithSecret, "Registered"), 400: problem("VALIDATION_FAILED or INVALID_JSON"), ...ADMIN_REFUSALS },
});

const getClient = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "One machine client",
  security: AUTHENTICATED,
  request: { params: ClientIdParam },
  responses: { 200: jsonResponse(z.object({ client: OAuthClientSchema }), "The client"), ...ADMIN_REFUSALS, ...NOT_FOUND },
});

const updateClient = createRoute({
  method: "patch",
  path: "/{id}",
  tags,
  summary: "Change a client's name, scopes or token lifetime, or disable it (refused from its next request on)",
  security: AUTHENTICATED,
  request: {
    params: ClientIdParam,
    body: jsonBody(
      z
        .object({ name: DisplayName.optional(), scopes: Scopes.optional(), accessTokenTtl: AccessTokenTtl.optional(), disabled: z.boolean().optional() })
        .refine((change) => Object.values(change).some((value) => value !== undefined), { message: "Nothing to change" }),
    ),
  },
  responses: { 200: jsonResponse(z.object({ client: OAuthClientSchema }), "Changed"), 400: problem("VALIDATION_FAILED or INVALID_JSON"), ...ADMIN_REFUSALS, ...NOT_FOUND },
});

const deleteClient = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  summary: "Delete a client: no more tokens, and its tokens introspect as inactive at once",
  security: AUTHENTICATED,
  request: { params: ClientIdParam },
  responses: { 204: { description: "Deleted" }, ...ADMIN_REFUSALS, ...NOT_FOUND },
});

const rotateSecret = createRoute({
  method: "post",
  path: "/{id}/rotate-secret",
  tags,
  summary: "Replace a client's secret (the old one stops working at once); the new one is shown only here",
  security: AUTHENTICATED,
  request: { params: ClientIdParam },
  responses: { 200: jsonResponse(WithSecret, "Rotated"), ...ADMIN_REFUSALS, ...NOT_FOUND },
});

/** /auth/admin/clients: reads for any administrator, every change also behind step-up (`recent`). */
export function createAdminClientRoutes({ oauthClients, recent }: AdminClientRouteDeps) {
  return createRouter()
    .openapi(listClients, async (c) => c.json({ clients: (await oauthClients.list()).map(oauthClientJson) }, 200))
    .openapi({ ...createClient, middleware: [recent] }, async (c) => {
      const { client, clientSecret } = await oauthClients.create(c.req.valid("json"), actorOf(c));
      return c.json({ client: oauthClientJson(client), clientSecret }, 201);
    })
    .openapi(getClient, async (c) => c.json({ client: oauthClientJson(await oauthClients.get(c.req.valid("param").id)) }, 200))
    .openapi({ ...updateClient, middleware: [recent] }, async (c) => {
      const client = await oauthClients.update(c.req.valid("param").id, c.req.valid("json"), actorOf(c));
      return c.json({ client: oauthClientJson(client) }, 200);
    })
    .openapi({ ...deleteClient, middleware: [recent] }, async (c) => {
      await oauthClients.remove(c.req.valid("param").id, actorOf(c));
      return c.body(null, 204);
    })
    .openapi({ ...rotateSecret, middleware: [recent] }, async (c) => {
      const { client, clientSecret } = await oauthClients.rotateSecret(c.req.valid("param").id, actorOf(c));
      return c.json({ client: oauthClientJson(client), clientSecret }, 200);
    });
}
