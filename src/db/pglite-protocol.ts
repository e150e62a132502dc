/**
 * The messages between the server's thread and the thread that runs PGlite (pglite-thread.ts). Only data crosses
 * (structured clone): no functions, so query options travel as the type OIDs to leave unparsed.
 */

/** How the thread opens its PGlite: files in a data directory, or in memory (empty, or from a tar snapshot). */
export type PgliteThreadOptions = { dataDir: string } | { dataDir: null; snapshotPath?: string };

/** A statement outside any transaction has `tx: null`; inside one, the id `begin` answered. */
export type PgliteRequest =
  | { id: number; op: "query"; tx: number | null; sql: string; params: unknown[]; rowMode: "array" | "object"; unparsedOids: number[] }
  | { id: number; op: "exec"; tx: number | null; sql: string }
  | { id: number; op: "begin" }
  | { id: number; op: "end"; tx: number; commit: boolean }
  | { id: number; op: "close" };

/** Request 0 is the thread's start: answered once its PGlite is open (or failed to open). */
export const START_REQUEST_ID = 0;

export type PgliteReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorData };

/** An error as data: its name, message and PostgreSQL's fields (code, detail, constraint, ...). */
export type ErrorData = { name: string; message: string; fields: Record<string, string | number | boolean> };

export function toErrorData(error: unknown): ErrorData {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), fields: {} };
  const fields: ErrorData["fields"] = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") fields[key] = value;
  }
  return { name: error.name, message: error.message, fields };
}

/** The error again on this side, with the fields src/db/errors.ts reads (code, constraint) where it looks for them. */
export function fromErrorData({ name, message, fields }: ErrorData): Error {
  const error = Object.assign(new Error(message), fields);
  error.name = name;
  return error;
}
