import { GraphQLError } from "graphql";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { AppError, ERROR_CODES, type ErrorCode } from "../errors.ts";
import { refusalHeaders } from "../http/on-error.ts";
import type { Logger } from "../observability/logger.ts";

const isErrorCode = (code: unknown): code is ErrorCode => typeof code === "string" && code in ERROR_CODES;

/**
 * By name, as yoga tests it, not instanceof: graphql 16 ships CommonJS and ESM builds without an exports map, and
 * a bundler or test runner may load both, each with its own GraphQLError class.
 */
const isGraphqlError = (error: unknown): error is GraphQLError => error instanceof Error && error.name === "GraphQLError";

/**
 * An AppError as a GraphQL error: `extensions.code` from the catalogue, `extensions.errors` for field errors, and
 * the problem's other members (maxAge, acrValues, until, retryAfterSeconds, ...). A request-level refusal (no `path`: nothing ran)
 * also sets the HTTP status and headers REST would (429 + Retry-After, 401 + WWW-Authenticate); a field's error
 * leaves the response 200, as GraphQL over HTTP has it, with the same code.
 */
export function toGraphqlError(error: AppError, at?: GraphQLError): GraphQLError {
  const requestLevel = at?.path === undefined;
  return new GraphQLError(error.message, {
    nodes: at?.nodes ?? null,
    path: at?.path ?? null,
    extensions: {
      code: error.code,
      // A field's refusal has no Retry-After header (its response is a 200), so the wait travels with the error.
      ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
      ...error.extensions,
      ...(error.errors ? { errors: error.errors } : {}),
      ...(requestLevel ? { http: { status: error.status, headers: refusalHeaders(error) } } : {}),
    },
  });
}

/**
 * A GraphQL-level error (parse, validation, a limit, a GET mutation, a GET without yoga's CSRF-prevention header)
 * with a catalogue code and its status.
 */
function withCode(error: GraphQLError): GraphQLError {
  const { code, http } = error.extensions as { code?: unknown; http?: { status?: number; headers?: Record<string, string> } };
  if (isErrorCode(code)) return error;
  const resolved: ErrorCode = http?.status === 405 ? "METHOD_NOT_ALLOWED" : http?.status === 403 ? "CSRF_REJECTED" : "GRAPHQL_VALIDATION_FAILED";
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    extensions: { code: resolved, http: { status: ERROR_CODES[resolved].status, ...(http?.headers ? { headers: http.headers } : {}) } },
  });
}

/**
 * yoga's maskError: every error leaves with a catalogue code. A client's mistake keeps its message; anything
 * else is logged in full (with the request id) and answered INTERNAL_ERROR with no detail, as REST does.
 */
export function createMaskError(logger: Logger) {
  return (error: unknown): Error => {
    const located = isGraphqlError(error) ? error : undefined;
    const original = located?.originalError ?? error;
    if (original instanceof AppError) return toGraphqlError(original, located);
    if (isGraphqlError(original)) return withCode(original);
    if (located !== undefined && located.originalError === undefined) return withCode(located);
    if (isDatabaseUnavailable(original)) {
      logger.error({ err: original }, "database unavailable");
      return toGraphqlError(new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5 }), located);
    }
    logger.error({ err: original, path: located?.path }, "unhandled GraphQL error");
    return toGraphqlError(new AppError("INTERNAL_ERROR"), located);
  };
}
