import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import { ADMIN_REFUSALS, actorOf, AdminUserDetailSchema, AdminUserSchema, adminUserDetailJson, adminUserJson, RoleName, Roles, UserIdParam, UserStatusSchema } from "../admin-schemas.ts";
import type { AppEnv } from "../app-env.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, Email, jsonBody, jsonResponse, NewPassword, plainText, problem, Username } from "../schemas.ts";

export type AdminUserRouteDeps = Pick<Services, "admin"> & { recent: MiddlewareHandler<AppEnv> };

const PAGE_SIZE_MAX = 100;
const tags = ["admin"];

const listUsers = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Search and list users, oldest first, a page at a time",
  security: AUTHENTICATED,
  request: {
    query: z.object({
      q: plainText(255).optional().openapi({ description: "A prefix of the email or username, ignoring case" }),
      role: RoleName.optional(),
      status: UserStatusSchema.optional(),
      limit: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(20).openapi({ description: `Users per page (1-${PAGE_SIZE_MAX})` }),
      cursor: z.string().max(512).optional().openapi({ description: "The previous page's `nextCursor` (opaque)" }),
    }),
  },
  responses: {
    200: jsonResponse(
      z.object({ users: z.array(AdminUserSchema), nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }) }),
      "A page of users",
    ),
    400: problem("VALIDATION_FAILED (also a cursor this list did not make)"),
    ...ADMIN_REFUSALS,
  },
});

const createUser = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a user: with a password, or without one and invited by mail to choose it",
  security: AUTHENTICATED,
  request: {
    body: jsonBody(
      z.object({
        email: Email,
        password: NewPassword.optional().openapi({ description: "Omitted: the user is mailed an invitation link that sets the first password" }),
        username: Username.optional(),
        roles: Roles.optional(),
        emailVerified: z.boolean().optional().openapi({ description: "true: the administrator vouches for the address; no verification mail" }),
      }),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ user: AdminUserSchema }), "Created"),
    400: problem("VALIDATION_FAILED, INVALID_JSON or PASSWORD_TOO_COMMON"),
    ...ADMIN_REFUSALS,
    409: problem("EMAIL_TAKEN or USERNAME_TAKEN"),
  },
});

const getUser = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "A user with roles, status, ban, live sessions (with amr/aal) and linked accounts",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(z.object({ user: AdminUserDetailSchema }), "The user"), ...ADMIN_REFUSALS, 404: problem("NOT_FOUND") },
});

const updateUser = createRoute({
  method: "patch",
  path: "/{id}",
  tags,
  summary: "Change a user's email, username, emailVerified or roles",
  security: AUTHENTICATED,
  request: {
    params: UserIdParam,
    body: jsonBody(
      z
        .object({ email: Email.optional(), username: Username.nullable().optional(), emailVerified: z.boolean().optional(), roles: Roles.optional() })
        .refine((body) => Object.values(body).some((value) => value !== undefined), { message: "Give at least one field to change" }),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ user: AdminUserSchema }), "The changed user; a new email is unverified unless emailVerified says otherwise"),
    400: problem("VALIDATION_FAILED or INVALID_JSON"),
    ...ADMIN_REFUSALS,
    404: problem("NOT_FOUND"),
    409: problem("EMAIL_TAKEN, USERNAME_TAKEN, or LAST_ADMIN (the admin role of the last active administrator)"),
  },
});

const deleteUser = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  summary: "Delete a user now (no grace period); every token of theirs stops working at once",
  security: AUTHENTICATED,
  request: { params: UserIdParam },
  responses: { 204: { description: "Deleted" }, ...ADMIN_REFUSALS, 404: problem("NOT_FOUND"), 409: problem("LAST_ADMIN") },
});

/** GET, POST /auth/admin/users and GET, PATCH, DELETE /auth/admin/users/{id}. */
export function createAdminUserRoutes({ admin, recent }: AdminUserRouteDeps) {
  return createRouter()
    .openapi(listUsers, async (c) => {
      const page = await admin.directory.search(c.req.valid("query"));
      return c.json({ users: page.users.map((user) => adminUserJson(user, admin.now())), nextCursor: page.nextCursor }, 200);
    })
    .openapi({ ...createUser, middleware: [recent] }, async (c) => {
      const user = await admin.users.create(c.req.valid("json"), actorOf(c));
      return c.json({ user: adminUserJson(user, admin.now()) }, 201);
    })
    .openapi(getUser, async (c) => {
      const detail = await admin.directory.detail(c.req.valid("param").id);
      return c.json({ user: adminUserDetailJson(detail, admin.now()) }, 200);
    })
    .openapi({ ...updateUser, middleware: [recent] }, async (c) => {
      const user = await admin.users.update(c.req.valid("param").id, c.req.valid("json"), actorOf(c));
      return c.json({ user: adminUserJson(user, admin.now()) }, 200);
    })
    .openapi({ ...deleteUser, middleware: [recent] }, async (c) => {
      await admin.users.remove(c.req.valid("param").id, actorOf(c));
      return c.body(null, 204);
    });
}
