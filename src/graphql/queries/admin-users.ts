import { z } from "@hono/zod-openapi";
import { AppError } from "../../errors.ts";
import { RoleName, UserStatusSchema } from "../../http/admin-schemas.ts";
import { plainText } from "../../http/schemas.ts";
import type { GraphqlBuilder } from "../builder.ts";
import { addConnection } from "../connection.ts";
import type { GraphqlDeps } from "../deps.ts";
import type { AdminUserRefs } from "../types/admin-user.ts";
import { validArgs } from "../validate.ts";

const PAGE_SIZE_MAX = 100;

/** GET /auth/admin/users' query rules under GraphQL's argument names. */
const SearchArgs = z.object({
  query: plainText(255).optional(),
  role: RoleName.optional(),
  status: UserStatusSchema.optional(),
  first: z.number().int().min(1).max(PAGE_SIZE_MAX).default(20),
  after: z.string().max(512).optional(),
});

/** Query.users and Query.user: the admin API's directory (admin scope: role, own session, RATE_LIMIT_ADMIN_SESSION). */
export function addAdminUsers(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "admin">, refs: AdminUserRefs) {
  const Connection = addConnection(builder, "AdminUser", refs.AdminUser);

  builder.queryField("users", (t) =>
    t.field({
      type: Connection,
      description: "Search users, oldest first, a page at a time",
      authScopes: { admin: true },
      args: {
        query: t.arg.string({ description: "A prefix of the email or username, ignoring case" }),
        role: t.arg.string(),
        status: t.arg.string({ description: "active, banned, pending_deletion or unverified" }),
        first: t.arg.int({ description: `Users per page (1-${PAGE_SIZE_MAX}, default 20)` }),
        after: t.arg.string({ description: "The previous page's pageInfo.endCursor" }),
      },
      resolve: async (_root, args) => {
        const present = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null && value !== undefined));
        const { query, role, status, first, after } = validArgs(SearchArgs, present);
        const page = await deps.admin.directory.search({ q: query, role, status, limit: first, cursor: after }).catch((error: unknown) => {
          // The service names REST's parameter (cursor); here the argument is `after`.
          if (error instanceof AppError && error.code === "VALIDATION_FAILED") {
            throw new AppError("VALIDATION_FAILED", { errors: [{ path: "after", message: "Not a cursor from this list" }] });
          }
          throw error;
        });
        return { nodes: page.users, endCursor: page.nextCursor };
      },
    }),
  );

  builder.queryField("user", (t) =>
    t.field({
      type: refs.AdminUserDetail,
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, context) => {
        const detail = await deps.admin.directory.detail(String(id));
        context.loaders.sessionsOfUser.prime(detail.user.id, detail.sessions);
        return detail;
      },
    }),
  );
}
