import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import journal from "../../src/db/migrations/meta/_journal.json" with { type: "json" };

const adminUrl = process.env.TEST_DATABASE_URL ?? "";
const name = `servauth_migrate_${randomBytes(6).toString("hex")}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
});
afterAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe("migrations on PostgreSQL", () => {
  it("apply once when several instances start together (advisory lock)", async () => {
    const handles = await Promise.all(Array.from({ length: 4 }, () => createDb({ kind: "postgres", url, connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 })));
    try {
      await Promise.all(handles.map((handle) => migrateDatabase(handle)));
      const check = postgres(url, { max: 1, onnotice: () => {} });
      const applied = await check`select count(*)::int as n from servauth_migrations.__drizzle_migrations`;
      const tables = await check`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
      await check.end();
      // Once each: as many rows as the journal has migrations.
      expect(applied[0]?.n).toBe(journal.entries.length);
      expect(tables.map((row) => row.table_name)).toEqual([
        "accounts",
        "api_keys",
        "audit_events",
        "mfa_challenges",
        "oauth_clients",
        "otp_challenge_ids",
        "otp_keys",
        "outbox_attempts",
        "outbox_messages",
        "passkeys",
        "rate_limits",
        "recovery_codes",
        "refresh_tokens",
        "second_factors",
        "sessions",
        "signing_keys",
        "users",
        "verifications",
        "webauthn_challenges",
        "webauthn_user_handles",
        "webhook_endpoints",
      ]);
      // A later start finds nothing to do.
      await migrateDatabase(handles[0]!);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
  });
});
