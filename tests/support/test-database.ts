import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { inject } from "vitest";
import type { DatabaseConfig } from "../../src/config/config.ts";
import { createDb, type DatabaseHandle, openPglite } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { startPgliteWorker } from "../../src/db/pglite-worker.ts";
import { type PgliteClient, preparePglite } from "../../src/db/prepared-pglite.ts";

export type TestDatabase = { handle: DatabaseHandle; config: DatabaseConfig; close(): Promise<void> };

/** Where a test's database lives: PGlite on the test's own thread, PGlite in a worker thread, or PostgreSQL. */
export type TestDatabaseKind = "pglite" | "pglite-worker" | "postgres";

/**
 * A migrated database of its own for one test: an in-memory PGlite holding exactly the migrated snapshot (on the
 * test's thread, or in a worker thread as the server runs it), or a fresh database on the server named by
 * TEST_DATABASE_URL, dropped afterwards. The project chooses the kind (SERVAUTH_TEST_DB); a test about one kind
 * names it.
 */
export async function openTestDatabase(kind = (process.env.SERVAUTH_TEST_DB ?? "pglite") as TestDatabaseKind): Promise<TestDatabase> {
  if (kind === "postgres") return openPostgresTestDatabase();
  return openPgliteTestDatabase(kind === "pglite-worker" ? "worker" : "main");
}

/**
 * Loading the snapshot costs seconds of CPU (PostgreSQL starting under WebAssembly); emptying the tables costs
 * milliseconds. So a PGlite given back in good order is kept and emptied for the next database, which is then
 * indistinguishable from a fresh load. The unit and http projects run with `isolate: false` (vitest.config.ts), so
 * this module state is the worker's: every test file the worker runs reuses the one PGlite (of each thread kind),
 * and it goes with the worker. Two databases open at once are two PGlites.
 */
const idle: { main?: PgliteClient; worker?: PgliteClient } = {};

async function openPgliteTestDatabase(thread: "worker" | "main"): Promise<TestDatabase> {
  const client = idle[thread] ?? (await loadSnapshot(thread));
  delete idle[thread];
  const lease = lend(client);
  const handle = openPglite(lease.client);
  return {
    handle,
    config: { kind: "pglite", dataDir: null, thread },
    async close() {
      lease.end();
      // A test that closed the handle (an outage) closed the PGlite; one left inside a transaction is not reused.
      if (client.closed) return;
      if (client.isInTransaction() || idle[thread] !== undefined) return client.close();
      await emptyTables(client);
      Object.assign(idle, { [thread]: client });
    },
  };
}

async function loadSnapshot(thread: "worker" | "main"): Promise<PgliteClient> {
  if (thread === "worker") return startPgliteWorker({ dataDir: null, snapshotPath: inject("pgliteSnapshotPath") });
  const snapshot = new Blob([await readFile(inject("pgliteSnapshotPath"))]);
  return preparePglite(await PGlite.create({ loadDataDir: snapshot }));
}

/**
 * The PGlite as the test's app sees it: once the database is given back, any late use (a timer the app forgot to
 * stop) fails loudly instead of writing into the next test's database.
 */
function lend<Client extends PgliteClient>(client: Client): { client: Client; end(): void } {
  let ended = false;
  const view = new Proxy(client, {
    get(target, property) {
      if (ended) throw new Error("this test database was given back (its test app is closed)");
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    client: view,
    end() {
      ended = true;
    },
  };
}

/** Every row the tests wrote, gone; the migrations' own bookkeeping (servauth_migrations) stays. */
async function emptyTables(client: PgliteClient): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
     where schemaname not in ('pg_catalog', 'information_schema', 'servauth_migrations')`,
  );
  if (rows.length > 0) await client.exec(`truncate ${rows.map((row) => row.name).join(", ")} restart identity cascade`);
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
