import SchemaBuilder from "@pothos/core";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { AppError } from "../errors.ts";
import type { GraphqlContext } from "./context.ts";
import type { GraphqlScopeNames, GraphqlScopes } from "./scopes.ts";

export type GraphqlTypes = {
  Context: GraphqlContext;
  AuthScopes: GraphqlScopeNames;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
};

/**
 * The code-first schema builder (Pothos) with scope-auth. Scopes are loaded once per request (src/graphql/scopes.ts);
 * a field its scopes refuse answers UNAUTHENTICATED without a session and FORBIDDEN with one, as REST answers.
 */
export function createBuilder(scopes: GraphqlScopes) {
  const builder = new SchemaBuilder<GraphqlTypes>({
    plugins: [ScopeAuthPlugin],
    defaultFieldNullability: false,
    scopeAuth: {
      authScopes: (context) => scopes.load(context),
      // A scope loader's own refusal (STEP_UP_REQUIRED, RATE_LIMITED, MFA_ENROLLMENT_REQUIRED) propagates as thrown.
      unauthorizedError: (_parent, context) => (context.auth === null ? new AppError("UNAUTHENTICATED") : new AppError("FORBIDDEN")),
    },
  });
  builder.queryType({});
  builder.mutationType({});
  builder.scalarType("DateTime", {
    description: "An ISO 8601 moment in UTC, e.g. 2026-01-31T12:00:00.000Z",
    serialize: (value) => value.toISOString(),
    parseValue: (value) => {
      const parsed = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
      if (Number.isNaN(parsed.getTime())) throw new AppError("VALIDATION_FAILED", { errors: [{ path: "(variables)", message: "Not an ISO 8601 moment" }] });
      return parsed;
    },
  });
  builder.scalarType("JSON", {
    description: "A JSON value (an audit event's payload: never a secret)",
    serialize: (value) => value,
    parseValue: (value) => value,
  });
  return builder;
}

export type GraphqlBuilder = ReturnType<typeof createBuilder>;
/** The builder's schema types, as Pothos refs are typed. */
export type BuilderTypes = PothosSchemaTypes.ExtendDefaultTypes<GraphqlTypes>;
