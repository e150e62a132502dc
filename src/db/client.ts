import { mkdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { DatabaseConfig } from "../config/config.ts";
import { assertPostgresPatched } from "./postgres-patch.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { startPgliteWorker } from "./pglite-worker.ts";
import { type PgliteClient, preparePglite } from "./prepared-pglite.ts";
import { type Schema, schema } from "./schema.ts";

export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** What `db.transaction` hands its callback: statements run through it commit or roll back together. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

export type DatabaseHandle = {
  db: Database;
  kind: DatabaseConfig["kind"];
  /** The most connections the handle opens at once (postgres.js exposes no live pool statistics). */
  maxConnections: number;
  /** Runs fn while holding a PostgreSQL advisory lock (on one connection), so concurrent starters serialize. */
  withAdvisoryLock<T>(lockId: number, fn: () => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Idempotent: a second call waits for the first. */
  close(): Promise<void>;
};

export async function createDb(config: DatabaseConfig): Promise<DatabaseHandle> {
  return config.kind === "postgres" ? createPostgres(config) : createPglite(config);
}

const POSTGRES_POOL_SIZE = 10;
/**
 * Seconds postgres.js waits before its `attempt`-th reconnection: its own first steps (30 ms, 90 ms), then never
 * more than 100 ms (see the backoff comment below).
 */
export const reconnectDelaySeconds = (attempt: number) => Math.min(3 ** attempt / 100, 0.1);

function createPostgres({ url, connectTimeoutMs, statementTimeoutMs }: Extract<DatabaseConfig, { kind: "postgres" }>): DatabaseHandle {
  assertPostgresPatched();
  const client = postgres(url, {
    max: POSTGRES_POOL_SIZE,
    connect_timeout: connectTimeoutMs / 1000,
    idle_timeout: 30,
    // Sent at connection start-up, so it holds for every query without a round trip of its own. (No
    // idle_in_transaction_session_timeout: Better-Auth's sign-up hashes the password inside its transaction, so
    // under load a healthy transaction can sit idle for as long as argon2 is queued.)
    connection: { statement_timeout: statementTimeoutMs },
    // While the server is down, every failed connection attempt fails the one query waiting on it, and the next
    // attempt waits a little: postgres.js's default backoff grows to 20 s, leaving queued queries (and their
    // requests) hanging long after the server is back. A refused connection costs nothing to retry.
    backoff: reconnectDelaySeconds,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: "postgres",
    maxConnections: POSTGRES_POOL_SIZE,
    async withAdvisoryLock(lockId, fn) {
      const connection = await client.reserve();
      try {
        // Waiting for another instance's migration is not a stuck query: no statement timeout on this wait.
        await connection`set statement_timeout = 0`;
        await connection`select pg_advisory_lock(${lockId})`;
        try {
          return await fn();
        } finally {
          await connection`select pg_advisory_unlock(${lockId})`;
          await connection`reset statement_timeout`;
        }
      } finally {
        connection.release();
      }
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    close: () => (closing ??= client.end({ timeout: 5 })),
  };
}

async function createPglite({ dataDir, thread }: Extract<DatabaseConfig, { kind: "pglite" }>): Promise<DatabaseHandle> {
  if (dataDir === null) return openPglite(await startPglite(null, thread));
  // PGlite creates the data directory but not its parents (a fresh DATA_DIR with AUTH_SECRET set).
  await mkdir(path.dirname(dataDir), { recursive: true });
  // Every process that opens the files takes the lock first: the server, and each CLI command.
  const lock = await lockDataDir(dataDir, {
    // This process stalled so long that another one took the database over: writing on would corrupt it.
    onLost() {
      process.stderr.write(`servauth: the lock on the embedded database in ${dataDir} was taken over by another process; stopping\n`);
      process.exit(1);
    },
  });
  try {
    const handle = openPglite(await startPglite(dataDir, thread));
    let closing: Promise<void> | undefined;
    return { ...handle, close: () => (closing ??= handle.close().finally(() => lock.release())) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startPglite(dataDir: string | null, thread: "worker" | "main"): Promise<PgliteClient> {
  if (thread === "worker") {
    return startPgliteWorker(
      { dataDir },
      {
        // On the server's thread a crash of PGlite ended the process, and its supervisor started a new one; a dead
        // thread would leave a process that answers 503 for ever (or 200 from its caches, hiding the outage).
        onUnexpectedExit(error) {
          process.stderr.write(`servauth: the embedded database's thread stopped (${String(error.cause)}); stopping\n`);
          process.exit(1);
        },
      },
    );
  }
  const client = new PGlite(dataDir ?? undefined);
  await client.waitReady;
  return preparePglite(client);
}

/**
 * A handle over an already started PGlite, on this thread or in a worker (tests load theirs from a migrated
 * snapshot, skipping initdb).
 */
export function openPglite(client: PgliteClient): DatabaseHandle {
  // drizzle's PGlite session calls query() and transaction() on the client, and query()/exec() on a transaction:
  // all a PgliteClient answers (prepared-pglite.ts, pglite-worker.ts).
  const db = drizzlePglite(client as PGlite, { schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: "pglite",
    maxConnections: 1,
    // PGlite is one process with one connection: there is nobody to serialize with.
    withAdvisoryLock: (_lockId, fn) => fn(),
    async ping() {
      await db.execute(sql`select 1`);
    },
    close: () => (closing ??= client.close()),
  };
}
