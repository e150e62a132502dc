import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type DatabaseHandle } from "../../src/db/client.ts";
import { isDatabaseUnavailable } from "../../src/db/errors.ts";

/**
 * A transaction whose client goes quiet must not keep its locks: PostgreSQL ends it after the statement timeout
 * (idle_in_transaction_session_timeout), the locks go, and the stalled caller gets an error that answers 503.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? "";
const name = `servauth_stalled_${randomBytes(6).toString("hex")}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const TIMEOUT_MS = 300;
const LOCK_ID = 4242;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let handle: DatabaseHandle;
let other: postgres.Sql;

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  handle = await createDb({ kind: "postgres", url, connectTimeoutMs: 5_000, statementTimeoutMs: TIMEOUT_MS });
  other = postgres(url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await other.end();
  await handle.close();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

it("ends a transaction left idle past the statement timeout, releasing its locks", async () => {
  const stalled = handle.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_ID})`);
    await sleep(TIMEOUT_MS * 4);
    await tx.execute(sql`select 1`);
  });
  const outcome = stalled.then(
    () => null,
    (error: unknown) => error,
  );
  await sleep(TIMEOUT_MS * 3);
  const [row] = await other<[{ free: boolean }]>`select pg_try_advisory_lock(${LOCK_ID}) as free`;
  expect(row.free).toBe(true);
  await other`select pg_advisory_unlock(${LOCK_ID})`;
  const error = await outcome;
  expect(error).not.toBeNull();
  expect(isDatabaseUnavailable(error)).toBe(true);
  // The pool carries on with a fresh connection.
  await expect(handle.ping()).resolves.toBeUndefined();
});
