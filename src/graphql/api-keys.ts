import type { ApiKeyRow } from "../machine/api-keys.ts";
import type { GraphqlBuilder } from "./builder.ts";
import type { GraphqlDeps } from "./deps.ts";
import type { MeRef } from "./queries/me.ts";
import { sessionOf } from "./validate.ts";

/**
 * Me.apiKeys and Mutation.deleteApiKey (GET and DELETE /auth/api-keys). Both from a session only, never with a key
 * (FORBIDDEN_FOR_API_KEY). Creating one stays REST: it needs a fresh authentication and shows the key once.
 */
export function addApiKeys(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "apiKeys">, refs: { me: MeRef }) {
  const ApiKey = builder.objectRef<ApiKeyRow>("ApiKey").implement({
    description: "A personal API key of the user's: its metadata, never the key",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      prefix: t.exposeString("prefix", { description: "The key's visible start, to recognise it" }),
      scopes: t.exposeStringList("scopes"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
      lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true, description: "Updated at most once a minute" }),
    }),
  });

  builder.objectField(refs.me, "apiKeys", (t) =>
    t.field({ type: [ApiKey], authScopes: { notApiKey: true }, resolve: ({ user }) => deps.apiKeys.list(user.id) }),
  );

  builder.mutationField("deleteApiKey", (t) =>
    t.field({
      type: "Boolean",
      description: "Revoke one of the caller's keys, at once on every instance; NOT_FOUND for any other id",
      authScopes: { notApiKey: true },
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, context) => {
        await deps.apiKeys.revoke(sessionOf(context).user.id, String(id), context.audit);
        return true;
      },
    }),
  );
}
