import { describe, expect, it } from "vitest";
import { assertNotBanned, banOf } from "../../src/admin/bans.ts";
import { decodeCursor, encodeCursor } from "../../src/admin/keyset-cursor.ts";
import { normalizeRoles, RoleName } from "../../src/admin/roles.ts";
import { isActiveAdmin, statusOf } from "../../src/admin/user-status.ts";
import type { UserRow } from "../../src/auth/users.ts";
import { refusingBadData } from "../../src/db/errors.ts";
import { userRow } from "../support/user-row.ts";
import { AppError } from "../../src/errors.ts";

const NOW = new Date("2026-06-01T12:00:00.000Z");
const later = (ms: number) => new Date(NOW.getTime() + ms);

const user = (overrides: Partial<UserRow> = {}) => userRow(NOW, overrides);

describe("roles", () => {
  it("a stored set always holds user, once, sorted", () => {
    expect(normalizeRoles([])).toEqual(["user"]);
    expect(normalizeRoles(["support", "admin", "support", "user"])).toEqual(["admin", "support", "user"]);
  });

  it("names are lowercase a-z 0-9 _ -, 1 to 32 long", () => {
    for (const name of ["admin", "team_a-1", "x".repeat(32)]) expect(RoleName.safeParse(name).success, name).toBe(true);
    for (const name of ["", "Admin", "a b", "x".repeat(33), "admin,user", "rôle"]) expect(RoleName.safeParse(name).success, name).toBe(false);
  });
});

describe("bans", () => {
  const banned = (expiresAt: Date | null) => user({ bannedAt: NOW, banReason: "spam", banExpiresAt: expiresAt });

  it("a temporary ban holds until its expiry and not from that instant on", () => {
    const ban = banned(later(1_000));
    expect(banOf(ban, later(999))).toMatchObject({ reason: "spam" });
    expect(banOf(ban, later(1_000))).toBeNull();
    expect(banOf(banned(null), later(10 ** 12))).not.toBeNull();
    expect(banOf(user(), NOW)).toBeNull();
  });

  it("ACCOUNT_BANNED carries until for a temporary ban only", () => {
    const refusal = (row: UserRow) => {
      try {
        assertNotBanned(row, NOW);
      } catch (error) {
        return error as AppError;
      }
      return null;
    };
    expect(refusal(banned(later(60_000)))?.extensions).toEqual({ until: later(60_000).toISOString() });
    expect(refusal(banned(null))?.code).toBe("ACCOUNT_BANNED");
    expect(refusal(banned(null))?.extensions).toBeUndefined();
    expect(refusal(banned(later(-1)))).toBeNull();
  });

  it("status: banned before pending deletion before unverified before active", () => {
    expect(statusOf(user({ bannedAt: NOW, deletionScheduledAt: NOW, emailVerified: false }), NOW)).toBe("banned");
    expect(statusOf(user({ deletionScheduledAt: NOW, emailVerified: false }), NOW)).toBe("pending_deletion");
    expect(statusOf(user({ emailVerified: false }), NOW)).toBe("unverified");
    expect(statusOf(user({ bannedAt: NOW, banExpiresAt: later(-1) }), NOW)).toBe("active");
  });
});

describe("keyset cursor", () => {
  const position = { createdAt: "2026-06-01 12:00:00.123456+00", id: "00000000-0000-4000-8000-000000000001" };

  it("round-trips a position with its microseconds", () => {
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it("refuses what it did not make", () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const cursor of ["", "%%%", encode({}), encode([position.createdAt, "not-a-uuid"]), encode(["yesterday", position.id]), encode([`${position.createdAt}'; drop table users; --`, position.id])]) {
      expect(decodeCursor(cursor), cursor).toBeNull();
    }
  });

  it("refuses a position that names no real moment: a field out of range, a year before 1970, an offset past 15 hours", () => {
    for (const createdAt of ["2026-99-99 99:99:99+00", "2026-02-30 12:00:00+00", "2026-06-01 24:00:00+00", "0000-01-01 00:00:00+00", "1969-12-31 23:59:59+00", "2026-06-01 12:00:00+16", "2026-06-01 12:00:00+05:60"]) {
      expect(decodeCursor(encodeCursor({ ...position, createdAt })), createdAt).toBeNull();
    }
    for (const createdAt of ["2024-02-29 23:59:59.999999-05:30", "9999-12-31 00:00:00+00"]) expect(decodeCursor(encodeCursor({ ...position, createdAt })), createdAt).not.toBeNull();
  });
});

describe("active administrators", () => {
  it("hold the admin role, are not banned now and not scheduled for deletion", () => {
    const admin = (overrides: Partial<UserRow> = {}) => user({ roles: ["admin", "user"], ...overrides });
    expect(isActiveAdmin(admin(), NOW)).toBe(true);
    expect(isActiveAdmin(user(), NOW)).toBe(false);
    expect(isActiveAdmin(admin({ bannedAt: NOW }), NOW)).toBe(false);
    expect(isActiveAdmin(admin({ bannedAt: NOW, banExpiresAt: later(-1) }), NOW)).toBe(true);
    expect(isActiveAdmin(admin({ deletionScheduledAt: later(1_000) }), NOW)).toBe(false);
  });
});

describe("a database data exception in an admin query", () => {
  const failing = (code: string) => Promise.reject(new Error("query failed", { cause: Object.assign(new Error("from the driver"), { code }) }));

  it("is the client's VALIDATION_FAILED (SQLSTATE class 22); any other failure passes through", async () => {
    await expect(refusingBadData(failing("22P05"))).rejects.toMatchObject({ code: "VALIDATION_FAILED", status: 400 });
    await expect(refusingBadData(failing("22008"))).rejects.toBeInstanceOf(AppError);
    await expect(refusingBadData(failing("23505"))).rejects.not.toBeInstanceOf(AppError);
    await expect(refusingBadData(Promise.resolve(1))).resolves.toBe(1);
  });
});
