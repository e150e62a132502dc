import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../router.ts";
import type { MiddlewareHandler } from "hono";
import { toPublicUser } from "../../auth/users.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { attemptOf } from "../sign-in.ts";
import { respondWithJsonText } from "../json-text.ts";
import { createMeBodies } from "./me-body.ts";
import { AssuranceFields, AUTHENTICATED, Email, jsonBody, jsonResponse, PresentedPassword, problem, PublicUserSchema, Username } from "../schemas.ts";

export type MeRouteDeps = Pick<Services, "profile" | "accountDeletion"> & {
  cookies: CookieJar;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

const getMe = createRoute({
  method: "get",
  path: "/",
  tags: ["account"],
  summary: "The signed-in user and session",
  security: AUTHENTICATED,
  responses: {
    200: jsonResponse(
      z.object({
        user: PublicUserSchema,
        session: z.object({ id: z.uuid(), createdAt: z.iso.datetime(), expiresAt: z.iso.datetime(), ...AssuranceFields }),
      }),
      "The user and the session this request was authenticated with",
    ),
    401: problem("UNAUTHENTICATED"),
  },
});

const updateMe = createRoute({
  method: "put",
  path: "/",
  tags: ["account"],
  summary: "Change username or email",
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z
        .object({
          username: Username.nullable().optional(),
          email: Email.optional(),
          currentPassword: PresentedPassword.optional().openapi({
            description: "Required to change the email when the account has a password; without one, a recent authentication is",
          }),
        })
        .refine((body) => body.username !== undefined || body.email !== undefined, {
          message: "Give username or email to change",
        }),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ user: PublicUserSchema }), "The updated user; a new email is unverified"),
    400: problem("VALIDATION_FAILED (changing email requires currentPassword when the account has a password) or INVALID_JSON"),
    401: problem("UNAUTHENTICATED, INVALID_CREDENTIALS (wrong current password), or STEP_UP_REQUIRED (no password and no recent authentication)"),
    403: problem("CSRF_REJECTED"),
    409: problem("EMAIL_TAKEN, USERNAME_TAKEN, or PASSWORD_NOT_SET (a password was given but the account has none: leave it out and re-authenticate by code)"),
  },
});

const deleteMe = createRoute({
  method: "delete",
  path: "/",
  tags: ["account"],
  summary: "Delete the account, its sessions and credentials",
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z.object({
        password: PresentedPassword.optional().openapi({
          description: "Required when the account has a password; an account without one needs a recent authentication instead",
        }),
      }),
    ),
  },
  responses: {
    204: { description: "Deleted; every token of the user stops working at once" },
    202: jsonResponse(
      z.object({ deletionScheduledAt: z.iso.datetime() }),
      "With ACCOUNT_DELETION_GRACE > 0: scheduled; sessions ended, logins refused, a mail carries a cancel token",
    ),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    401: problem("UNAUTHENTICATED, INVALID_CREDENTIALS (wrong password), or STEP_UP_REQUIRED (no password and no recent authentication)"),
    403: problem("CSRF_REJECTED"),
    409: problem("PASSWORD_NOT_SET (a password was given but the account has none: leave it out and re-authenticate by code), or LAST_ADMIN (the last active administrator: make another one first)"),
  },
});

/** GET, PUT, DELETE /auth/me. */
export function createMeRoutes({ profile, accountDeletion, cookies, requireAuth, limits }: MeRouteDeps) {
  const meBody = createMeBodies();
  const app = createRouter();
  app.use(requireAuth);
  return app
    .openapi(getMe, (c) => respondWithJsonText(c, meBody(c.get("auth")), 200))
    .openapi(updateMe, async (c) => {
      const updated = await profile.update(c.get("auth"), c.req.valid("json"), attemptOf(c, limits));
      return c.json({ user: toPublicUser(updated) }, 200);
    })
    .openapi(deleteMe, async (c) => {
      const deletesAt = await accountDeletion.request(c.get("auth"), c.req.valid("json").password, attemptOf(c, limits));
      cookies.clear(c);
      if (deletesAt === null) return c.body(null, 204);
      return c.json({ deletionScheduledAt: deletesAt.toISOString() }, 202);
    });
}
