import type { GraphQLSchema } from "graphql";
import { addApiKeys } from "./api-keys.ts";
import { createBuilder } from "./builder.ts";
import type { GraphqlDeps } from "./deps.ts";
import { addAccountMutations } from "./mutations/account.ts";
import { addAdminMutations } from "./mutations/admin.ts";
import { addSessionMutations } from "./mutations/sessions.ts";
import { addAdminUsers } from "./queries/admin-users.ts";
import { addAuditEvents } from "./queries/audit-events.ts";
import { addPasskeys } from "./passkeys.ts";
import { addMe } from "./queries/me.ts";
import { createGraphqlScopes, type GraphqlScopeDeps } from "./scopes.ts";
import { addAdminUserTypes } from "./types/admin-user.ts";
import { addSessionType } from "./types/session.ts";

/**
 * The GraphQL schema, code first. Each area is one file that adds its types and fields to the builder; a new area
 * is one more file and one more line here, given the refs it extends (e.g. `me` for the `passkeys` field on Me). schema.graphql at the repository root is printed from this (scripts/generate-docs.ts).
 */
export function createGraphqlSchema(deps: GraphqlDeps, scopeDeps: GraphqlScopeDeps): GraphQLSchema {
  const builder = createBuilder(createGraphqlScopes(scopeDeps));
  const session = addSessionType(builder);
  const me = addMe(builder, deps, { session });
  addPasskeys(builder, deps, { me });
  addApiKeys(builder, deps, { me });
  addAuditEvents(builder, deps);
  const adminUsers = addAdminUserTypes(builder, deps, { session });
  addAdminUsers(builder, deps, adminUsers);

  addAccountMutations(builder, deps, { me });
  addSessionMutations(builder, deps);
  addAdminMutations(builder, deps, adminUsers);
  return builder.toSchema({ sortSchema: true });
}
