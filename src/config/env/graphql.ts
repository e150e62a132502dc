import { z } from "zod";
import { flag } from "./fields.ts";

const limit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** true/false (or 1/0) with no default: unset means "decided by NODE_ENV". */
const environmentFlag = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(["true", "false", "1", "0"], { message: "must be true or false" }))
  .transform((value) => value === "true" || value === "1")
  .optional();

/** The GraphQL API at /graphql (docs/graphql.md): what it accepts, and the limits that refuse an abusive query. */
export const graphqlVariables = {
  GRAPHQL_ENABLED: flag(true).describe("false: no /graphql route at all (404); the REST API is unaffected."),
  GRAPHQL_INTROSPECTION: environmentFlag.describe("true: the schema can be introspected (__schema, __type). Unset: on outside production, off in production; the committed schema.graphql describes it either way."),
  GRAPHQL_PERSISTED_ONLY: flag(false).describe(
    "true: only the operations listed in GRAPHQL_PERSISTED_OPERATIONS_FILE run, named by their hash (extensions.persistedQuery: {version: 1, sha256Hash}); any other query is refused with GRAPHQL_PERSISTED_ONLY.",
  ),
  GRAPHQL_PERSISTED_OPERATIONS_FILE: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe("A JSON file mapping each persisted operation's SHA-256 hash (hex) to its document, read at start. Unset: no persisted operations."),
  GRAPHQL_MAX_DEPTH: limit(10, 100).describe("The deepest selection an operation may make (GRAPHQL_DEPTH_LIMIT beyond it)."),
  GRAPHQL_MAX_ALIASES: limit(15, 1000).describe("Aliases per operation (GRAPHQL_ALIAS_LIMIT beyond it)."),
  GRAPHQL_MAX_COST: limit(5000, 1_000_000).describe(
    "The cost an operation may have (GRAPHQL_COST_LIMIT beyond it): graphql-armor's estimate: 1 per scalar field and 2 per object field, each weighed 1.5 times more per level of nesting. It is also what the operation spends of RATE_LIMIT_GRAPHQL_COST_SESSION.",
  ),
  GRAPHQL_MAX_TOKENS: limit(1000, 100_000).describe("Tokens in a document (GRAPHQL_TOKEN_LIMIT beyond it), counted while parsing, so a huge document is refused early."),
  GRAPHQL_MAX_DIRECTIVES: limit(10, 1000).describe("Directives per operation (GRAPHQL_DIRECTIVE_LIMIT beyond it)."),
};
