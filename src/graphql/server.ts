import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { DocumentNode, GraphQLSchema } from "graphql";
import { createYoga, type Plugin } from "graphql-yoga";
import type { GraphqlConfig } from "../config/config.ts";
import { ERROR_CODES } from "../errors.ts";
import type { RequestLimits } from "../http/request-limits.ts";
import type { Logger } from "../observability/logger.ts";
import type { GraphqlContext } from "./context.ts";
import { costBudget } from "./cost-budget.ts";
import { createMaskError } from "./errors.ts";
import { createLimitPlugins, disableIntrospection, oneChangePerMutation } from "./limits.ts";
import type { PersistedOperations } from "./persisted-operations.ts";

export type GraphqlServerDeps = {
  schema: GraphQLSchema;
  config: GraphqlConfig;
  limits: RequestLimits;
  logger: Logger;
  persistedOperations: PersistedOperations;
};

const persistedError = (code: "GRAPHQL_PERSISTED_ONLY" | "GRAPHQL_PERSISTED_OPERATION_NOT_FOUND") => ({
  message: ERROR_CODES[code].title,
  extensions: { code, http: { status: ERROR_CODES[code].status } },
});

/**
 * graphql-yoga over the schema: the HTTP route (src/http/routes/graphql.ts) hands it the request with the
 * request's context (GraphqlContext). yoga refuses a mutation over GET (405) and, with its CSRF-prevention
 * plugin, a GET or form-typed POST without the `x-graphql-yoga-csrf` header (a browser cannot send it
 * cross-site without a CORS preflight, which CORS_ORIGINS answers).
 */
export function createGraphqlServer({ schema, config, limits, logger, persistedOperations }: GraphqlServerDeps) {
  const costs = new WeakMap<DocumentNode, number>();
  const plugins: Plugin[] = [
    useCSRFPrevention(),
    usePersistedOperations({
      getPersistedOperation: (hash) => persistedOperations.get(hash.toLowerCase()) ?? null,
      allowArbitraryOperations: !config.persistedOnly,
      customErrors: {
        persistedQueryOnly: persistedError("GRAPHQL_PERSISTED_ONLY"),
        notFound: persistedError("GRAPHQL_PERSISTED_OPERATION_NOT_FOUND"),
        keyNotFound: persistedError("GRAPHQL_PERSISTED_ONLY"),
      },
    }),
    ...createLimitPlugins(config.limits, costs),
    oneChangePerMutation(),
    ...(config.introspection ? [] : [disableIntrospection()]),
    costBudget(limits, costs) as Plugin,
  ];
  return createYoga<GraphqlContext>({
    schema,
    graphqlEndpoint: "/graphql",
    plugins,
    maskedErrors: { maskError: createMaskError(logger) },
    graphiql: config.graphiql,
    // The bundled GraphiQL, not yoga's default page, which loads its scripts from a CDN: nothing is fetched from
    // outside at run time, not even by a developer's browser. Imported on first use: it is 9 MB of JavaScript.
    renderGraphiQL: async (options) => (await import("@graphql-yoga/render-graphiql")).renderGraphiQL(options),
    landingPage: false,
    // Hono's middleware answers CORS (CORS_ORIGINS) and logs requests; yoga's own would answer differently.
    cors: false,
    logging: false,
    multipart: false,
    batching: false,
  });
}

export type GraphqlServer = ReturnType<typeof createGraphqlServer>;
