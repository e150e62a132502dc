/** RFC 6749 section 3.3's scope-token: printable ASCII except space, '"' and '\'. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export const MAX_SCOPES = 32;
export const MAX_SCOPE_LENGTH = 64;

/** A `scope` request parameter (space-separated) as a list, or null when it is not a valid one. */
export function parseScopeParameter(value: string): string[] | null {
  const scopes = value.split(" ");
  if (scopes.some((scope) => !SCOPE_TOKEN.test(scope) || scope.length > MAX_SCOPE_LENGTH)) return null;
  return [...new Set(scopes)];
}
