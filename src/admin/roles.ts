import { z } from "zod";

/** Every user holds it; it cannot be taken away. */
export const USER_ROLE = "user";
/** The built-in role of the admin API (/auth/admin). Other names are the application's own to give meaning to. */
export const ADMIN_ROLE = "admin";

/** Lowercase letters, digits, `_` and `-`, at most 32: safe in a JWT claim, a URL query and a log line as they are. */
export const ROLE_NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;
export const ROLE_NAME_RULE = "1 to 32 characters from a-z, 0-9, '_', '-'";

export const RoleName = z.string().regex(ROLE_NAME_PATTERN, ROLE_NAME_RULE);

/** A role set as stored: `user` added, duplicates removed, sorted (so equal sets compare equal). */
export function normalizeRoles(roles: readonly string[]): string[] {
  return [...new Set([USER_ROLE, ...roles])].sort();
}

export const isAdmin = (user: { roles: readonly string[] }) => user.roles.includes(ADMIN_ROLE);
