import { banOf } from "../../admin/bans.ts";
import type { UserDetail } from "../../admin/user-directory.ts";
import { statusOf } from "../../admin/user-status.ts";
import type { UserRow } from "../../auth/users.ts";
import type { BuilderTypes, GraphqlBuilder } from "../builder.ts";
import type { GraphqlDeps } from "../deps.ts";
import type { SessionRef } from "./session.ts";

type Ban = NonNullable<ReturnType<typeof banOf>>;

/**
 * AdminUser (the listing, GET /auth/admin/users) and AdminUserDetail (GET /auth/admin/users/{id}). A listed user's
 * sessions come through the request's DataLoader: a page of users with their sessions costs one sessions query.
 */
export function addAdminUserTypes(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "admin">, refs: { session: SessionRef }) {
  const BanRef = builder.objectRef<Ban>("Ban").implement({
    description: "The ban that holds now",
    fields: (t) => ({
      reason: t.exposeString("reason"),
      bannedAt: t.expose("bannedAt", { type: "DateTime" }),
      expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true, description: "null: until an unban" }),
    }),
  });

  /** The fields both types share; `userOf` finds the user in the parent. */
  function userFields<P>(t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, P>, userOf: (parent: P) => UserRow) {
    return {
      id: t.id({ resolve: (parent) => userOf(parent).id }),
      email: t.string({ resolve: (parent) => userOf(parent).email }),
      username: t.string({ nullable: true, resolve: (parent) => userOf(parent).username }),
      emailVerified: t.boolean({ resolve: (parent) => userOf(parent).emailVerified }),
      createdAt: t.field({ type: "DateTime", resolve: (parent) => userOf(parent).createdAt }),
      updatedAt: t.field({ type: "DateTime", resolve: (parent) => userOf(parent).updatedAt }),
      roles: t.stringList({ resolve: (parent) => userOf(parent).roles }),
      status: t.string({
        description: "banned (a ban holds now), pending_deletion (ACCOUNT_DELETION_GRACE runs), unverified (the address is not proven), else active",
        resolve: (parent) => statusOf(userOf(parent), deps.admin.now()),
      }),
      ban: t.field({ type: BanRef, nullable: true, resolve: (parent) => banOf(userOf(parent), deps.admin.now()) }),
      deletionScheduledAt: t.field({ type: "DateTime", nullable: true, resolve: (parent) => userOf(parent).deletionScheduledAt }),
      sessions: t.field({
        type: [refs.session],
        description: "Live sessions, most recently active first",
        resolve: (parent, _args, context) => context.loaders.sessionsOfUser.load(userOf(parent).id),
      }),
    };
  }

  const AdminUser = builder.objectRef<UserRow>("AdminUser").implement({
    description: "A user as the admin API lists them",
    fields: (t) => userFields(t, (user) => user),
  });

  type Factor = UserDetail["secondFactors"][number];
  const AdminSecondFactor = builder.objectRef<Factor>("AdminSecondFactor").implement({
    fields: (t) => ({
      type: t.exposeString("type"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true }),
    }),
  });
  const AdminLinkedAccount = builder.objectRef<UserDetail["linkedAccounts"][number]>("AdminLinkedAccount").implement({
    description: "A sign-in account besides the password (a social login provider)",
    fields: (t) => ({
      providerId: t.exposeString("providerId"),
      accountId: t.exposeString("accountId"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
    }),
  });
  const AdminUserDetail = builder.objectRef<UserDetail>("AdminUserDetail").implement({
    description: "One user with linked accounts and second factors",
    fields: (t) => ({
      ...userFields(t, (detail) => detail.user),
      linkedAccounts: t.field({ type: [AdminLinkedAccount], resolve: (detail) => detail.linkedAccounts }),
      hasPassword: t.exposeBoolean("hasPassword"),
      secondFactors: t.field({ type: [AdminSecondFactor], resolve: (detail) => detail.secondFactors }),
      recoveryCodesLeft: t.exposeInt("recoveryCodesLeft"),
      passkeys: t.exposeInt("passkeys", { description: "How many passkeys and security keys sign in to the account" }),
    }),
  });
  return { AdminUser, AdminUserDetail };
}

export type AdminUserRefs = ReturnType<typeof addAdminUserTypes>;
