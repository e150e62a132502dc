import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { Instant } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import { ApiKeySchema, apiKeyJson, DisplayName, Scopes } from "../machine-schemas.ts";
import { refuseApiKey, requireRecentAuthentication } from "../middleware/step-up.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonBody, jsonResponse, problem } from "../schemas.ts";

export type ApiKeyRouteDeps = Pick<Services, "apiKeys" | "stepUp"> & { requireAuth: MiddlewareHandler<AppEnv> };

const tags = ["api keys"];
const NOT_WITH_A_KEY = problem("FORBIDDEN_FOR_API_KEY (keys are managed from a signed-in session, never with a key) or CSRF_REJECTED");

const createKey = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a personal API key (a sensitive action: needs a recent authentication); the key is shown only here",
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z.object({
        name: DisplayName,
        scopes: Scopes.optional(),
        expiresAt: Instant.optional().openapi({ description: "Omitted: API_KEY_MAX_TTL from now, which is also the latest allowed" }),
      }),
    ),
  },
  responses: {
    201: jsonResponse(
      z.object({ apiKey: ApiKeySchema, key: z.string().openapi({ description: "`Authorization: Bearer <key>`; shown once, only its hash is kept", example: "sa_…" }) }),
      "Created",
    ),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    401: problem("UNAUTHENTICATED, or STEP_UP_REQUIRED (the last authentication is older than STEP_UP_MAX_AGE: POST /auth/reauthenticate)"),
    403: NOT_WITH_A_KEY,
    409: problem("TOO_MANY_API_KEYS"),
  },
});

const listKeys = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The caller's API keys that still work, newest first (never the keys themselves)",
  security: AUTHENTICATED,
  responses: { 200: jsonResponse(z.object({ apiKeys: z.array(ApiKeySchema) }), "Keys"), 401: problem("UNAUTHENTICATED"), 403: NOT_WITH_A_KEY },
});

const deleteKey = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  summary: "Revoke one of the caller's API keys, on every instance at once",
  security: AUTHENTICATED,
  // Any string: a malformed id answers 404 like another user's key.
  request: { params: z.object({ id: z.string().openapi({ format: "uuid" }) }) },
  responses: { 204: { description: "Revoked" }, 401: problem("UNAUTHENTICATED"), 403: NOT_WITH_A_KEY, 404: problem("NOT_FOUND: no such key of the caller's") },
});

/** POST, GET /auth/api-keys and DELETE /auth/api-keys/{id}: from a session only, never with a key. */
export function createApiKeyRoutes({ apiKeys, stepUp, requireAuth }: ApiKeyRouteDeps) {
  const app = createRouter();
  app.use(requireAuth, refuseApiKey);
  return app
    .openapi({ ...createKey, middleware: [requireRecentAuthentication(stepUp)] }, async (c) => {
      const { name, scopes, expiresAt } = c.req.valid("json");
      const request = { name, scopes: scopes ?? [], expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) };
      const { apiKey, key } = await apiKeys.create(c.get("auth").user, request, auditContext(c));
      return c.json({ apiKey: apiKeyJson(apiKey), key }, 201);
    })
    .openapi(listKeys, async (c) => c.json({ apiKeys: (await apiKeys.list(c.get("auth").user.id)).map(apiKeyJson) }, 200))
    .openapi(deleteKey, async (c) => {
      const { id } = c.req.valid("param");
      await apiKeys.revoke(c.get("auth").user.id, id, auditContext(c));
      return c.body(null, 204);
    });
}
