import { and, gt, isNotNull, isNull, not, or, type SQL, sql } from "drizzle-orm";
import type { UserRow } from "../auth/users.ts";
import { users } from "../db/tables/users.ts";
import { banOf } from "./bans.ts";
import { ADMIN_ROLE, isAdmin } from "./roles.ts";

/**
 * One status per user, the first that applies: banned (a ban holds now), pending_deletion (ACCOUNT_DELETION_GRACE
 * runs), unverified (the address is not proven), else active.
 */
export const USER_STATUSES = ["active", "banned", "pending_deletion", "unverified"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export function statusOf(user: UserRow, now: Date): UserStatus {
  if (banOf(user, now) !== null) return "banned";
  if (user.deletionScheduledAt !== null) return "pending_deletion";
  return user.emailVerified ? "active" : "unverified";
}

/** The same rule as statusOf, as SQL over `users`, for the admin search's `status` filter. */
export function statusCondition(status: UserStatus, now: Date): SQL {
  const bannedNow = and(isNotNull(users.bannedAt), or(isNull(users.banExpiresAt), gt(users.banExpiresAt, now))) as SQL;
  const notBanned = not(bannedNow);
  switch (status) {
    case "banned":
      return bannedNow;
    case "pending_deletion":
      return and(notBanned, isNotNull(users.deletionScheduledAt)) as SQL;
    case "unverified":
      return and(notBanned, isNull(users.deletionScheduledAt), sql`not ${users.emailVerified}`) as SQL;
    case "active":
      return and(notBanned, isNull(users.deletionScheduledAt), users.emailVerified) as SQL;
  }
}

/** An administrator who can act: holds the admin role, is not banned, and is not scheduled for deletion. */
export function isActiveAdmin(user: UserRow, now: Date): boolean {
  return isAdmin(user) && banOf(user, now) === null && user.deletionScheduledAt === null;
}

/** isActiveAdmin as SQL over `users`. */
export function activeAdminCondition(now: Date): SQL {
  return and(sql`${ADMIN_ROLE} = any(${users.roles})`, isNull(users.deletionScheduledAt), not(statusCondition("banned", now))) as SQL;
}
