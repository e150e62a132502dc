import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import { requireRecentAuthentication } from "../middleware/step-up.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonResponse, problem } from "../schemas.ts";

export type MeAccountsRouteDeps = Pick<Services, "linkedAccounts" | "stepUp"> & { requireAuth: MiddlewareHandler<AppEnv> };

const LinkedAccountSchema = z
  .object({
    id: z.uuid(),
    provider: z.string().openapi({ example: "google" }),
    email: z.string().nullable().openapi({ description: "The address the provider gave at the latest sign-in" }),
    linkedAt: z.iso.datetime(),
  })
  .openapi("LinkedAccount");

const listAccounts = createRoute({
  method: "get",
  path: "/",
  tags: ["social login"],
  summary: "The caller's linked sign-in providers, whether the account has a password, and how many passkeys",
  security: AUTHENTICATED,
  responses: {
    200: jsonResponse(
      z.object({ accounts: z.array(LinkedAccountSchema), password: z.boolean(), passkeys: z.number().int().openapi({ description: "Passkeys (GET /auth/passkeys lists them)" }) }),
      "Linked identities, oldest first",
    ),
    401: problem("UNAUTHENTICATED"),
  },
});

const unlinkAccount = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["social login"],
  summary: "Remove a linked provider (a sensitive action: needs a recent authentication)",
  security: AUTHENTICATED,
  // Any string is accepted; a malformed id answers 404 like someone else's.
  request: { params: z.object({ id: z.string().max(64).openapi({ format: "uuid" }) }) },
  responses: {
    204: { description: "Removed; the owner is mailed" },
    401: problem("UNAUTHENTICATED, STEP_UP_REQUIRED"),
    403: problem("CSRF_REJECTED"),
    404: problem("NOT_FOUND: no such linked account of the caller's"),
    409: problem("LAST_SIGN_IN_METHOD: no password, no other provider and no passkey would remain"),
  },
});

/** GET /auth/me/accounts and DELETE /auth/me/accounts/{id}. */
export function createMeAccountsRoutes({ linkedAccounts, stepUp, requireAuth }: MeAccountsRouteDeps) {
  return createRouter()
    .openapi({ ...listAccounts, middleware: [requireAuth] }, async (c) => {
      const { identities, password, passkeys } = await linkedAccounts.list(c.get("auth").user.id);
      const accounts = identities.map((identity) => ({ ...identity, linkedAt: identity.linkedAt.toISOString() }));
      return c.json({ accounts, password, passkeys }, 200);
    })
    .openapi({ ...unlinkAccount, middleware: [requireAuth, requireRecentAuthentication(stepUp)] }, async (c) => {
      await linkedAccounts.unlink(c.get("auth").user, c.req.valid("param").id, auditContext(c));
      return c.body(null, 204);
    });
}
