import type { GraphqlBuilder } from "../builder.ts";
import type { GraphqlDeps } from "../deps.ts";
import { sessionOf } from "../validate.ts";

/** Mutation.revokeSession, revokeOtherSessions and logout (DELETE /auth/sessions/{id}, DELETE /auth/sessions, POST /auth/logout). */
export function addSessionMutations(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "ownSessions">) {
  builder.mutationField("revokeSession", (t) =>
    t.field({
      type: "Boolean",
      description: "End one of the caller's sessions; NOT_FOUND for any other id",
      authScopes: { signedIn: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, context) => {
        await deps.ownSessions.revoke(sessionOf(context), String(id), context.audit);
        return true;
      },
    }),
  );

  builder.mutationField("revokeOtherSessions", (t) =>
    t.field({
      type: "Int",
      description: "End every session but this one (needs a recent authentication: STEP_UP_REQUIRED); how many ended",
      authScopes: { signedIn: true },
      resolve: async (_root, _args, context) => (await deps.ownSessions.revokeOthers(sessionOf(context), context.audit)).length,
    }),
  );

  builder.mutationField("logout", (t) =>
    t.field({
      type: "Boolean",
      description: "End the current session (and clear its cookies)",
      // Any live session, as POST /auth/logout: MFA_POLICY=required lets a session that must still enrol sign out.
      authScopes: { session: true },
      resolve: async (_root, _args, context) => {
        await deps.ownSessions.logout(sessionOf(context), context.audit);
        context.clearSessionCookies();
        return true;
      },
    }),
  );
}
