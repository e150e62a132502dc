import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import { SUPPORTED_GRANT_TYPES } from "../../machine/oauth-endpoints.ts";
import type { SigningKeyStore } from "../../tokens/signing-keys.ts";
import { jsonResponse } from "../schemas.ts";

const jwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["tokens"],
  summary: "Public keys that verify access tokens",
  responses: {
    200: jsonResponse(z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("JWKS"), "JSON Web Key Set"),
  },
});

const CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"];

const MetadataSchema = z
  .object({
    issuer: z.string(),
    token_endpoint: z.string(),
    introspection_endpoint: z.string(),
    revocation_endpoint: z.string(),
    jwks_uri: z.string(),
    grant_types_supported: z.array(z.string()),
    response_types_supported: z.array(z.string()),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    introspection_endpoint_auth_methods_supported: z.array(z.string()),
    revocation_endpoint_auth_methods_supported: z.array(z.string()),
  })
  .openapi("AuthorizationServerMetadata");

const metadata = createRoute({
  method: "get",
  path: "/.well-known/oauth-authorization-server",
  tags: ["oauth2"],
  summary: "OAuth 2.0 authorization server metadata (RFC 8414): the endpoints machine clients discover",
  responses: { 200: jsonResponse(MetadataSchema, "Metadata") },
});

/**
 * GET /.well-known/jwks.json (cacheable for a few minutes so verifiers pick up rotations soon) and the RFC 8414
 * metadata. `issuer` is APP_URL, the `iss` of every token we sign; there is no authorization endpoint (only the
 * client credentials grant), hence no response types.
 */
export function createWellKnownRoutes({ signingKeys, issuer }: { signingKeys: SigningKeyStore; issuer: string }) {
  const document = {
    issuer,
    token_endpoint: `${issuer}/oauth2/token`,
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    grant_types_supported: [...SUPPORTED_GRANT_TYPES],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, "none"],
  };
  return createRouter()
    .openapi(jwks, (c) => {
      c.header("Cache-Control", "public, max-age=300");
      return c.json(signingKeys.jwks(), 200);
    })
    .openapi(metadata, (c) => {
      c.header("Cache-Control", "public, max-age=3600");
      return c.json(document, 200);
    });
}
