import { z } from "@hono/zod-openapi";
import type { Actor } from "../../admin/actor.ts";
import { Instant, Roles } from "../../http/admin-schemas.ts";
import { plainText } from "../../http/schemas.ts";
import type { GraphqlBuilder } from "../builder.ts";
import type { GraphqlContext } from "../context.ts";
import type { GraphqlDeps } from "../deps.ts";
import type { AdminUserRefs } from "../types/admin-user.ts";
import { sessionOf, validArgs } from "../validate.ts";

const BanArgs = z.object({ reason: plainText(500), expiresAt: Instant.optional() });
const RolesArgs = z.object({ roles: Roles });

/**
 * Mutation.banUser, unbanUser, setUserRoles, revokeUserSessions: the admin services, behind the admin scope and,
 * as every admin change over REST, a recent authentication (STEP_UP_REQUIRED), checked before the arguments.
 */
export function addAdminMutations(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "admin" | "stepUp">, refs: AdminUserRefs) {
  const recentActor = (context: GraphqlContext): Actor & { adminId: string } => {
    const auth = sessionOf(context);
    deps.stepUp.assertRecent(auth.session);
    return { adminId: auth.user.id, audit: context.audit };
  };

  builder.mutationField("banUser", (t) =>
    t.field({
      type: refs.AdminUser,
      description: "Ban a user: every session ends at once; sign-in is refused until the ban lifts",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }), reason: t.arg.string(), expiresAt: t.arg.string({ description: "ISO 8601; omitted: until an unban" }) },
      resolve: async (_root, args, context) => {
        const actor = recentActor(context);
        const { reason, expiresAt } = validArgs(BanArgs, { reason: args.reason ?? undefined, expiresAt: args.expiresAt ?? undefined });
        return deps.admin.bans.ban(String(args.id), { reason, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) }, actor);
      },
    }),
  );

  builder.mutationField("unbanUser", (t) =>
    t.field({
      type: refs.AdminUser,
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, { id }, context) => deps.admin.bans.unban(String(id), recentActor(context)),
    }),
  );

  builder.mutationField("setUserRoles", (t) =>
    t.field({
      type: refs.AdminUser,
      description: "Replace a user's roles (`user` is always kept); LAST_ADMIN if no active administrator would remain",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }), roles: t.arg.stringList() },
      resolve: async (_root, args, context) => {
        const actor = recentActor(context);
        const { roles } = validArgs(RolesArgs, { roles: args.roles ?? undefined });
        return deps.admin.users.update(String(args.id), { roles }, actor);
      },
    }),
  );

  builder.mutationField("revokeUserSessions", (t) =>
    t.field({
      type: "Int",
      description: "End every session of a user, on every instance at once; how many ended",
      authScopes: { admin: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, { id }, context) => deps.admin.sessions.revokeAll(String(id), recentActor(context)),
    }),
  );
}
