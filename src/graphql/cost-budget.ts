import type { DocumentNode } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { RequestLimits } from "../http/request-limits.ts";
import { AppError } from "../errors.ts";
import type { GraphqlContext } from "./context.ts";
import { toGraphqlError } from "./errors.ts";

/**
 * The per-session cost budget (RATE_LIMIT_GRAPHQL_COST_SESSION): before an operation runs, its cost (graphql-armor's,
 * from limits.ts) is spent from the session's budget, or the client address's without a session. Past it the
 * operation is refused RATE_LIMITED with Retry-After, and nothing runs.
 */
export function costBudget(limits: RequestLimits, costs: WeakMap<DocumentNode, number>): Plugin<GraphqlContext> {
  return {
    async onExecute({ args }) {
      const { auth, http } = args.contextValue;
      const cost = costs.get(args.document) ?? 1;
      await limits.consume(http, "graphqlCostSession", auth?.session.id ?? http.get("client").ip, Math.max(Math.ceil(cost), 1)).catch((error: unknown) => {
        // As a GraphQLError: yoga takes any error with an `errors` member (AppError has one) for an AggregateError.
        throw error instanceof AppError ? toGraphqlError(error) : error;
      });
    },
  };
}
