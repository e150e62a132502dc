import type { UserRow } from "../../src/auth/users.ts";

/** A users row for unit tests of code that takes one: verified, no roles but `user`, not banned, no second factor, created at `at`. */
export function userRow(at: Date, overrides: Partial<UserRow> = {}): UserRow {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    email: "ann@example.com",
    name: "",
    username: null,
    image: null,
    emailVerified: true,
    deletionScheduledAt: null,
    mfaEnabled: false,
    roles: ["user"],
    bannedAt: null,
    banReason: null,
    banExpiresAt: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}
