import { bearer, type TestApp } from "./test-app.ts";

export type GraphqlError = { message: string; path?: string[]; extensions: { code: string; errors?: Array<{ path: string; message: string }>; [key: string]: unknown } };
export type GraphqlAnswer<T = Record<string, unknown>> = { status: number; headers: Headers; data: T | null | undefined; errors: GraphqlError[] | undefined };

/** POST /graphql as the holder of `token` (none: no credentials), with extra headers. */
export async function graphql<T = Record<string, unknown>>(
  t: TestApp,
  query: string,
  options: { token?: string; variables?: Record<string, unknown>; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): Promise<GraphqlAnswer<T>> {
  const body = { query, ...(options.variables ? { variables: options.variables } : {}), ...(options.extensions ? { extensions: options.extensions } : {}) };
  const headers = { ...(options.token === undefined ? {} : bearer(options.token)), ...options.headers };
  const response = await t.request("POST", "/graphql", body, headers);
  const json = (await response.json()) as { data?: T | null; errors?: GraphqlError[] };
  return { status: response.status, headers: response.headers, data: json.data, errors: json.errors };
}

/** The stable codes of an answer's errors, in order. */
export const codesOf = (answer: GraphqlAnswer<unknown>) => (answer.errors ?? []).map((error) => error.extensions.code);

/** A REST answer's problem code (or null for a success). */
export async function restCode(response: Response): Promise<string | null> {
  if (response.ok) return null;
  return ((await response.json()) as { code: string }).code;
}
