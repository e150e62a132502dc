import { AppError } from "../errors.ts";

/** The unique-constraint name of a PostgreSQL unique violation (23505), through drizzle's error wrapper; else null. */
export function uniqueViolationConstraint(error: unknown): string | null {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const fields = current as Error & { code?: unknown; constraint?: unknown; constraint_name?: unknown };
    if (fields.code === "23505") {
      const name = fields.constraint_name ?? fields.constraint;
      return typeof name === "string" ? name : "";
    }
  }
  return null;
}

/**
 * Driver error codes (postgres.js, Node sockets, our PGlite worker thread) that mean the database could not be
 * reached or dropped us.
 */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "PGLITE_WORKER_EXITED",
]);

/**
 * True when the error is the database's unavailability, not a bug or bad input: connection failures, SQLSTATE
 * class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too
 * many connections), 57014 (statement_timeout: the database is stuck or overloaded), 25P03 (the server's
 * idle_in_transaction_session_timeout, if an operator sets one, ended a transaction), and a closed embedded
 * database. These answer 503 with Retry-After, never 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === "string") {
      if (CONNECTION_CODES.has(code) || code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300" || code === "57014" || code === "25P03") return true;
    }
    if (/^PGlite is clos(ed|ing)$/.test(current.message)) return true;
  }
  return false;
}

/**
 * A query built from a client's filter, with PostgreSQL's data exceptions (SQLSTATE class 22: a value out of range,
 * a character text cannot hold) answered as the client's mistake, VALIDATION_FAILED, not a 500. Validation refuses
 * what it knows of; this covers what only the database knows.
 */
export function refusingBadData<T>(query: Promise<T>): Promise<T> {
  return query.catch((error: unknown) => {
    throw isDataException(error) ? new AppError("VALIDATION_FAILED", { message: "A filter holds a value the database cannot compare" }) : error;
  });
}

function isDataException(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("22")) return true;
  }
  return false;
}
