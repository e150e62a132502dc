import type { Context, TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";

/** JSON text that encodes a T. Made only by jsonText(), so an answer sent from it keeps T's type. */
export type JsonText<T> = string & { readonly encodes: T };

export const jsonText = <T>(value: T): JsonText<T> => JSON.stringify(value) as JsonText<T>;

const JSON_CONTENT = { "Content-Type": "application/json" };

/** What c.json(value, status) answers, for a value serialized earlier (a cached body): the same bytes, headers and type. */
export function respondWithJsonText<T, S extends ContentfulStatusCode>(c: Context, text: JsonText<T>, status: S) {
  return c.body(text, status, JSON_CONTENT) as unknown as Response & TypedResponse<JSONParsed<T>, S, "json">;
}
