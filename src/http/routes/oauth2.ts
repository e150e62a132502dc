import { z } from "@hono/zod-openapi";
import { OAUTH_ERROR_CODES } from "../../machine/oauth-error.ts";
import type { Services } from "../../services.ts";
import { createRouter } from "../router.ts";
import type { RequestLimits } from "../request-limits.ts";
import { presentedClient, readOAuthForm, requiredParameter } from "../oauth2-request.ts";
import { attemptOf } from "../sign-in.ts";
import { problem } from "../schemas.ts";

export type OAuth2RouteDeps = Pick<Services, "oauth2"> & { limits: RequestLimits };

/** RFC 6749 section 5.1: token answers are never cached; RFC 7662 says the same of introspection. */
const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

/**
 * /oauth2/token, /oauth2/introspect and /oauth2/revoke: form-encoded in, JSON out, errors in RFC 6749's shape
 * (OAuthError, rendered by on-error.ts). Every request counts toward RATE_LIMIT_OAUTH_IP before anything else.
 */
export function createOAuth2Routes({ oauth2, limits }: OAuth2RouteDeps) {
  const app = createRouter();
  app.use(async (c, next) => {
    await limits.consume(c, "oauthIp", c.get("client").ip);
    await next();
  });
  app.post("/token", async (c) => {
    const form = await readOAuthForm(c);
    const grantType = requiredParameter(form, "grant_type");
    const issued = await oauth2.token(presentedClient(c, form), grantType, form.get("scope"), attemptOf(c, limits));
    return c.json(issued, 200, NO_STORE);
  });
  app.post("/introspect", async (c) => {
    const form = await readOAuthForm(c);
    const client = presentedClient(c, form);
    const token = requiredParameter(form, "token");
    return c.json(await oauth2.introspect(client, token, attemptOf(c, limits)), 200, NO_STORE);
  });
  app.post("/revoke", async (c) => {
    const form = await readOAuthForm(c);
    const client = presentedClient(c, form);
    await oauth2.revoke(client, requiredParameter(form, "token"), attemptOf(c, limits));
    return c.body(null, 200);
  });
  describe(app);
  return app;
}

const FormBody = (schema: z.ZodObject) => ({ required: true, content: { "application/x-www-form-urlencoded": { schema } } });
const OAuthErrorSchema = z
  .object({
    error: z.enum(OAUTH_ERROR_CODES),
    error_description: z.string(),
  })
  .openapi("OAuthError");
const oauthError = (description: string) => ({ description, content: { "application/json": { schema: OAuthErrorSchema } } });
const CLIENT_AUTH: Record<string, string[]>[] = [{ clientSecretBasic: [] }, {}];
const LIMITED = { 429: problem("RATE_LIMITED: RATE_LIMIT_OAUTH_IP or RATE_LIMIT_OAUTH_CLIENT (Retry-After)") };

/** The three endpoints in the OpenAPI document (the handlers read the form themselves, to answer in RFC 6749's shape). */
function describe(app: ReturnType<typeof createRouter>) {
  const registry = app.openAPIRegistry;
  registry.registerComponent("securitySchemes", "clientSecretBasic", { type: "http", scheme: "basic", description: "client_id and client_secret (or both in the form: client_secret_post)" });
  const ClientFields = { client_id: z.string().optional(), client_secret: z.string().optional() };
  registry.registerPath({
    method: "post",
    path: "/token",
    tags: ["oauth2"],
    summary: "Client credentials grant (RFC 6749 section 4.4): an RFC 9068 access token for a machine client",
    security: [{ clientSecretBasic: [] }],
    request: { body: FormBody(z.object({ grant_type: z.literal("client_credentials"), scope: z.string().optional(), ...ClientFields })) },
    responses: {
      200: {
        description: "Issued",
        content: {
          "application/json": {
            schema: z.object({ access_token: z.string(), token_type: z.literal("Bearer"), expires_in: z.number().int(), scope: z.string() }),
          },
        },
      },
      400: oauthError("invalid_request, unsupported_grant_type or invalid_scope"),
      401: oauthError("invalid_client (with WWW-Authenticate: Basic)"),
      ...LIMITED,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/introspect",
    tags: ["oauth2"],
    summary: "Token introspection (RFC 7662) of access tokens, API keys and machine tokens, for authenticated clients",
    security: [{ clientSecretBasic: [] }],
    request: { body: FormBody(z.object({ token: z.string(), token_type_hint: z.string().optional(), ...ClientFields })) },
    responses: {
      200: {
        description: "`{active: false}` for anything revoked, expired, unknown or malformed",
        content: {
          "application/json": {
            schema: z.object({
              active: z.boolean(),
              token_type: z.enum(["Bearer", "api_key"]).optional(),
              sub: z.string().optional(),
              client_id: z.string().optional(),
              scope: z.string().optional(),
              exp: z.number().int().optional(),
              iat: z.number().int().optional(),
              amr: z.array(z.string()).optional(),
              acr: z.string().optional(),
              roles: z.array(z.string()).optional(),
            }),
          },
        },
      },
      400: oauthError("invalid_request"),
      401: oauthError("invalid_client (with WWW-Authenticate: Basic)"),
      ...LIMITED,
    },
  });
  registry.registerPath({
    method: "post",
    path: "/revoke",
    tags: ["oauth2"],
    summary: "Token revocation (RFC 7009) of refresh tokens and API keys; client authentication optional",
    security: CLIENT_AUTH,
    request: { body: FormBody(z.object({ token: z.string(), token_type_hint: z.string().optional(), ...ClientFields })) },
    responses: {
      200: { description: "Revoked, or nothing to revoke (unknown and invalid tokens answer the same)" },
      400: oauthError("invalid_request"),
      401: oauthError("invalid_client: credentials were presented and are wrong"),
      ...LIMITED,
    },
  });
}
