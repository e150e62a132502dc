import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { inject } from "vitest";
import type { DatabaseConfig } from "../../src/config/config.ts";
import { createDb, type DatabaseHandle, openPglite } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";

export type TestDatabase = { handle: DatabaseHandle; config: DatabaseConfig; close(): Promise<void> };

/**
 * A migrated database of its own for one test file: a fresh in-memory PGlite loaded from the run's migrated
 * snapshot, or (SERVAUTH_TEST_DB=postgres) a fresh database on the server named by TEST_DATABASE_URL, dropped
 * afterwards.
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  if (process.env.SERVAUTH_TEST_DB === "postgres") return openPostgresTestDatabase();
  const snapshot = new Blob([await readFile(inject("pgliteSnapshotPath"))]);
  const client = new PGlite({ loadDataDir: snapshot });
  await client.waitReady;
  const handle = openPglite(client);
  return { handle, config: { kind: "pglite", dataDir: null }, close: () => handle.close() };
}

async function openPostgresTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("SERVAUTH_TEST_DB=postgres needs TEST_DATABASE_URL");
  const name = `servauth_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const config: DatabaseConfig = { kind: "postgres", url: url.toString(), connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 };
  const handle = await createDb(config);
  await migrateDatabase(handle);
  return {
    handle,
    config,
    async close() {
      await handle.close();
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
