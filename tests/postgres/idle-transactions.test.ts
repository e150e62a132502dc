import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type DatabaseHandle } from "../../src/db/client.ts";

/**
 * A transaction may pause longer than the statement timeout between its statements and still commit: Better-Auth's
 * sign-up hashes the password inside its transaction, and under load argon2 can be queued for longer than that.
 * (An idle_in_transaction_session_timeout tied to the statement timeout once cut such sign-ups under CI load.)
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? "";
const name = `servauth_idle_tx_${randomBytes(6).toString("hex")}`;
const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const STATEMENT_TIMEOUT_MS = 200;
let handle: DatabaseHandle;

beforeAll(async () => {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  handle = await createDb({ kind: "postgres", url, connectTimeoutMs: 5_000, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
});
afterAll(async () => {
  await handle.close();
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

it("commits a transaction that paused longer than the statement timeout between statements", async () => {
  const committed = await handle.db.transaction(async (tx) => {
    await tx.execute(sql`select 1`);
    await new Promise((resolve) => setTimeout(resolve, STATEMENT_TIMEOUT_MS * 3));
    await tx.execute(sql`select 1`);
    return "committed";
  });
  expect(committed).toBe("committed");
});
