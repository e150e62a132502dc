import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import type { SigningKeyStore } from "../../tokens/signing-keys.ts";
import type { AppEnv } from "../app-env.ts";
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

/** GET /.well-known/jwks.json; cacheable for a few minutes so verifiers pick up rotations soon. */
export function createWellKnownRoutes(signingKeys: SigningKeyStore) {
  return createRouter().openapi(jwks, (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(signingKeys.jwks(), 200);
  });
}
