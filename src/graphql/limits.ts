import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { type DocumentNode, GraphQLError, Kind, type SelectionSetNode, type ValidationContext, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GraphqlConfig } from "../config/config.ts";
import { ERROR_CODES, type ErrorCode } from "../errors.ts";

/** armor's refusal, re-thrown with a stable code (its own message says "Syntax Error:", which it is not). */
function refuseWith(code: ErrorCode): Array<(context: ValidationContext | null, error: GraphQLError) => void> {
  return [
    (_context, error) => {
      throw new GraphQLError(error.message.replace(/^Syntax Error: /, ""), { extensions: { code, http: { status: ERROR_CODES[code].status } } });
    },
  ];
}

/**
 * graphql-armor's limits, each refused before anything runs with its own code. The cost armor computes for an
 * accepted operation is kept by document (yoga reuses the parsed document for the same query, so a cached
 * validation still finds it) for the per-session cost budget (cost-budget.ts).
 */
export function createLimitPlugins(limits: GraphqlConfig["limits"], costs: WeakMap<DocumentNode, number>): Plugin[] {
  // Two instances, so that the shape limits are checked before the cost, which a deep query also exceeds: the
  // refusal then names the limit the client has to change.
  const shape = EnvelopArmorPlugin({
    costLimit: { enabled: false },
    maxDepth: { n: limits.maxDepth, onReject: refuseWith("GRAPHQL_DEPTH_LIMIT"), propagateOnRejection: false, ignoreIntrospection: false },
    maxAliases: { n: limits.maxAliases, onReject: refuseWith("GRAPHQL_ALIAS_LIMIT"), propagateOnRejection: false },
    maxDirectives: { n: limits.maxDirectives, onReject: refuseWith("GRAPHQL_DIRECTIVE_LIMIT"), propagateOnRejection: false },
    maxTokens: { n: limits.maxTokens, onReject: refuseWith("GRAPHQL_TOKEN_LIMIT"), propagateOnRejection: false },
    // "Did you mean ...?" would spell the schema out to whoever probes it with introspection off.
    blockFieldSuggestion: { enabled: true },
  });
  const cost = EnvelopArmorPlugin({
    maxDepth: { enabled: false },
    maxAliases: { enabled: false },
    maxDirectives: { enabled: false },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    costLimit: {
      maxCost: limits.maxCost,
      ignoreIntrospection: false,
      onReject: refuseWith("GRAPHQL_COST_LIMIT"),
      propagateOnRejection: false,
      onAccept: [
        (context, details: { n: number }) => {
          if (context === null) return;
          const document = context.getDocument();
          costs.set(document, Math.max(costs.get(document) ?? 0, details.n));
        },
      ],
    },
  });
  return [shape as Plugin, cost as Plugin];
}

/** The fields that open introspection; every introspection type is reached through them. */
const INTROSPECTION_FIELDS = new Set(["__schema", "__type"]);

/**
 * Refuses __schema and __type (not __typename) with GRAPHQL_INTROSPECTION_DISABLED. By field name rather than
 * graphql's type predicates, which refuse a schema built by another copy of graphql (CommonJS beside ESM).
 */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (INTROSPECTION_FIELDS.has(node.name.value)) {
      context.reportError(
        new GraphQLError("Introspection is disabled: the schema is published as schema.graphql", {
          nodes: node,
          extensions: { code: "GRAPHQL_INTROSPECTION_DISABLED", http: { status: ERROR_CODES.GRAPHQL_INTROSPECTION_DISABLED.status } },
        }),
      );
    }
  },
});

/** GRAPHQL_INTROSPECTION=false (production's default): no __schema or __type. */
export function disableIntrospection(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(noIntrospection);
    },
  };
}

/**
 * A mutation operation selects one top-level field. Rate limits, the admin budget and lockouts count requests, as
 * on REST, where one request takes one action; fifteen aliased bans in one request would each pass a limit counted
 * once. One field also means every change is checked against the state the previous one left. Fragments and
 * aliases are counted as what they expand to; __typename changes nothing and is not counted.
 */
const oneMutationField: ValidationRule = (context) => {
  const topLevelFields = (selectionSet: SelectionSetNode, seen: Set<string>): number =>
    selectionSet.selections.reduce((count, selection) => {
      if (selection.kind === Kind.FIELD) return count + (selection.name.value === "__typename" ? 0 : 1);
      if (selection.kind === Kind.INLINE_FRAGMENT) return count + topLevelFields(selection.selectionSet, seen);
      const name = selection.name.value;
      const fragment = context.getFragment(name);
      if (fragment === null || fragment === undefined || seen.has(name)) return count; // unknown or cyclic: graphql's own rules refuse it
      return count + topLevelFields(fragment.selectionSet, new Set([...seen, name]));
    }, 0);
  return {
    OperationDefinition(node) {
      if (node.operation !== "mutation" || topLevelFields(node.selectionSet, new Set()) <= 1) return;
      context.reportError(
        new GraphQLError("A mutation operation may select one top-level field: send one operation per change", {
          nodes: node,
          extensions: { code: "GRAPHQL_MUTATION_LIMIT", http: { status: ERROR_CODES.GRAPHQL_MUTATION_LIMIT.status } },
        }),
      );
    },
  };
};

/** One change per mutation operation (oneMutationField). */
export function oneChangePerMutation(): Plugin {
  return {
    onValidate: ({ addValidationRule }) => {
      addValidationRule(oneMutationField);
    },
  };
}
