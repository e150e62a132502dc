import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Actor } from "../admin/actor.ts";
import { banOf } from "../admin/bans.ts";
import { ROLE_NAME_PATTERN, ROLE_NAME_RULE } from "../admin/roles.ts";
import type { UserDetail } from "../admin/user-directory.ts";
import { statusOf, USER_STATUSES } from "../admin/user-status.ts";
import type { UserRow } from "../auth/users.ts";
import { toPublicUser } from "../auth/users.ts";
import type { AppEnv } from "./app-env.ts";
import { auditContext } from "./audit-context.ts";
import { problem, PublicUserSchema, SessionFields, sessionJson } from "./schemas.ts";

// Built on @hono/zod-openapi's z, not taken from src/admin/roles.ts: a schema made by plain zod before the OpenAPI
// extension loaded has no .openapi() (a script importing the services first failed that way).
export const RoleName = z.string().regex(ROLE_NAME_PATTERN, ROLE_NAME_RULE).openapi({ example: "admin", description: "Lowercase a-z, 0-9, '_', '-'; at most 32 characters" });
export const Roles = z.array(RoleName).max(32).openapi({ description: "The user's roles; `user` is always added", example: ["admin", "user"] });
export const UserStatusSchema = z.enum(USER_STATUSES).openapi({
  description: "banned (a ban holds now), pending_deletion (ACCOUNT_DELETION_GRACE runs), unverified (the address is not proven), else active",
});

/** The years a moment given to the admin API may fall in: any real one, none that a Date or PostgreSQL would refuse or wrap. */
const EARLIEST_YEAR = 1970;
const LATEST_YEAR = 9999;

/** An ISO 8601 moment with an offset, within EARLIEST_YEAR..LATEST_YEAR (an offset like +99:00 is no moment at all). */
export const Instant = z.iso.datetime({ offset: true }).refine(
  (value) => {
    const year = new Date(value).getUTCFullYear();
    return year >= EARLIEST_YEAR && year <= LATEST_YEAR;
  },
  { message: `Must be a moment between the years ${EARLIEST_YEAR} and ${LATEST_YEAR}` },
);

/** Any string: a malformed id answers 404 like an unknown one. */
export const UserIdParam = z.object({ id: z.string().openapi({ format: "uuid", description: "The user's id" }) });

export const AdminUserSchema = PublicUserSchema.extend({
  roles: Roles,
  status: UserStatusSchema,
  ban: z
    .object({ reason: z.string(), bannedAt: z.iso.datetime(), expiresAt: z.iso.datetime().nullable() })
    .nullable()
    .openapi({ description: "The ban that holds now; null when there is none (or it has expired)" }),
  deletionScheduledAt: z.iso.datetime().nullable(),
}).openapi("AdminUser");

export const AdminUserDetailSchema = AdminUserSchema.extend({
  sessions: z.array(z.object(SessionFields)),
  linkedAccounts: z
    .array(z.object({ providerId: z.string(), accountId: z.string(), createdAt: z.iso.datetime() }))
    .openapi({ description: "Sign-in accounts besides the password (social login providers)" }),
  hasPassword: z.boolean(),
  secondFactors: z
    .array(z.object({ type: z.enum(["totp", "email"]), createdAt: z.iso.datetime(), lastUsedAt: z.iso.datetime().nullable() }))
    .openapi({ description: "Confirmed second factors (DELETE /auth/admin/users/{id}/mfa removes them all)" }),
  recoveryCodesLeft: z.number().int(),
  passkeys: z.number().int().openapi({ description: "How many passkeys and security keys sign in to the account" }),
}).openapi("AdminUserDetail");

/** The user as the admin API shows it; `now` decides whether a temporary ban still holds. */
export function adminUserJson(user: UserRow, now: Date) {
  const ban = banOf(user, now);
  return {
    ...toPublicUser(user),
    roles: user.roles,
    status: statusOf(user, now),
    ban: ban === null ? null : { reason: ban.reason, bannedAt: ban.bannedAt.toISOString(), expiresAt: ban.expiresAt?.toISOString() ?? null },
    deletionScheduledAt: user.deletionScheduledAt?.toISOString() ?? null,
  };
}

export function adminUserDetailJson(detail: UserDetail, now: Date) {
  return {
    ...adminUserJson(detail.user, now),
    sessions: detail.sessions.map(sessionJson),
    linkedAccounts: detail.linkedAccounts.map((account) => ({ ...account, createdAt: account.createdAt.toISOString() })),
    hasPassword: detail.hasPassword,
    secondFactors: detail.secondFactors.map((factor) => ({
      type: factor.type,
      createdAt: factor.createdAt.toISOString(),
      lastUsedAt: factor.lastUsedAt?.toISOString() ?? null,
    })),
    recoveryCodesLeft: detail.recoveryCodesLeft,
    passkeys: detail.passkeys,
  };
}

/** The administrator of the request, for the services' audit. */
export function actorOf(c: Context<AppEnv>): Actor & { adminId: string } {
  return { adminId: c.get("auth").user.id, audit: auditContext(c) };
}

/** The answers every admin route shares besides its own. */
export const ADMIN_REFUSALS = {
  401: problem("UNAUTHENTICATED, or (a change) STEP_UP_REQUIRED: the administrator's last authentication is older than STEP_UP_MAX_AGE"),
  403: problem("FORBIDDEN (not an administrator, or an impersonation session), FORBIDDEN_FOR_API_KEY (a personal API key) or CSRF_REJECTED"),
  429: problem("RATE_LIMITED: RATE_LIMIT_ADMIN_SESSION (Retry-After)"),
};
