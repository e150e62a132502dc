import { z } from "@hono/zod-openapi";
import { Email, NewPassword, PresentedPassword, Username } from "../../http/schemas.ts";
import type { GraphqlBuilder } from "../builder.ts";
import type { GraphqlDeps } from "../deps.ts";
import type { MeRef } from "../queries/me.ts";
import { sessionOf, validArgs } from "../validate.ts";

/** PUT /auth/me's body rules. */
const UpdateMeArgs = z
  .object({ username: Username.nullable().optional(), email: Email.optional(), currentPassword: PresentedPassword.optional() })
  .refine((body) => body.username !== undefined || body.email !== undefined, { message: "Give username or email to change" });

/** POST /auth/change-password's body rules. */
const ChangePasswordArgs = z.object({ currentPassword: PresentedPassword.optional(), newPassword: NewPassword, revokeOtherSessions: z.boolean().optional() });

/** GraphQL leaves an argument out as undefined and an explicit null as null; only `username: null` means something (clear it). */
const given = (args: Record<string, unknown>, nullable: readonly string[] = []) =>
  Object.fromEntries(Object.entries(args).filter(([name, value]) => value !== undefined && (value !== null || nullable.includes(name))));

/** Mutation.updateMe and Mutation.changePassword: the profile and password services, with their step-up rules. */
export function addAccountMutations(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "profile" | "changePassword">, refs: { me: MeRef }) {
  builder.mutationField("updateMe", (t) =>
    t.field({
      type: refs.me,
      description: "Change username or email (an email change needs currentPassword, or a recent authentication without one)",
      authScopes: { signedIn: true },
      args: { username: t.arg.string(), email: t.arg.string(), currentPassword: t.arg.string() },
      resolve: async (_root, args, context) => {
        const auth = sessionOf(context);
        const changes = validArgs(UpdateMeArgs, given(args, ["username"]));
        const user = await deps.profile.update(auth, changes, context.attempt);
        return { ...auth, user };
      },
    }),
  );

  builder.mutationField("changePassword", (t) =>
    t.field({
      type: "Boolean",
      description: "Change (or, for an account made by a sign-in code, set) the password; true when changed",
      authScopes: { signedIn: true },
      args: { currentPassword: t.arg.string(), newPassword: t.arg.string(), revokeOtherSessions: t.arg.boolean() },
      resolve: async (_root, args, context) => {
        await deps.changePassword(sessionOf(context), validArgs(ChangePasswordArgs, given(args)), context.attempt);
        return true;
      },
    }),
  );
}
