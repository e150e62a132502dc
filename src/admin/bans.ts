import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";

export type Ban = { reason: string; bannedAt: Date; expiresAt: Date | null };

type BanColumns = Pick<UserRow, "bannedAt" | "banReason" | "banExpiresAt">;

/**
 * The ban that holds at `now`, or null. A temporary ban lifts itself: past its expiry it no longer counts, with no
 * write needed, so every instance agrees on the moment it ends (the columns stay as a record until an unban or the
 * next ban).
 */
export function banOf(user: BanColumns, now: Date): Ban | null {
  if (user.bannedAt === null) return null;
  if (user.banExpiresAt !== null && user.banExpiresAt.getTime() <= now.getTime()) return null;
  return { reason: user.banReason ?? "", bannedAt: user.bannedAt, expiresAt: user.banExpiresAt };
}

/**
 * ACCOUNT_BANNED for a user under a ban, with `until` when it is temporary. Asked after a factor was proven (the
 * sign-in flow) or of a live session (the session validator), so the answer tells nothing to a stranger. The reason
 * stays with the administrators: it may name what the user is suspected of.
 */
export function assertNotBanned(user: BanColumns, now: Date): void {
  const ban = banOf(user, now);
  if (ban === null) return;
  throw new AppError("ACCOUNT_BANNED", ban.expiresAt === null ? {} : { extensions: { until: ban.expiresAt.toISOString() } });
}
