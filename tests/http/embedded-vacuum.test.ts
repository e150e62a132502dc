import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client.ts";
import { createEmbeddedVacuum } from "../../src/db/embedded-vacuum.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";

/**
 * The embedded database has no autovacuum (PGlite runs PostgreSQL as one standalone backend): the server's periodic
 * job does its work (src/db/embedded-vacuum.ts). On the worker-thread tier it runs through the thread like every
 * other statement; a PostgreSQL server vacuums itself and does not run the job.
 */
let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await openTestDatabase();
  db = database.handle.db;
});
afterAll(async () => {
  await database.close();
});

/** Rows written and deleted again: the dead rows a session table's churn leaves. */
async function churn(table: string) {
  await db.execute(sql.raw(`insert into ${table} (body) select repeat('x', 200) from generate_series(1, 500)`));
  await db.execute(sql.raw(`delete from ${table}`));
  // The statistics the job reads are published at most once a second unless asked for now.
  await db.execute(sql`select pg_stat_force_next_flush()`);
}

const heapBytes = async (table: string) => {
  const [row] = await db.select({ bytes: sql<number>`pg_relation_size(${table}::regclass)::float8` }).from(sql`(select 1) as one`);
  return Number(row?.bytes);
};

describe.skipIf(process.env.SERVAUTH_TEST_DB === "postgres")("the embedded database's vacuum", () => {
  it("vacuums and analyses the tables past autovacuum's thresholds, names that need quoting too, and then nothing until they are due again", async () => {
    await db.execute(sql`create table vacuum_probe (id serial primary key, body text not null)`);
    await db.execute(sql`create table "Vacuum probe ""two""" (id serial primary key, body text not null)`);
    await churn("vacuum_probe");
    await churn(`"Vacuum probe ""two"""`);
    const vacuum = createEmbeddedVacuum(db);

    const first = await vacuum.run();
    expect(first).toEqual(
      expect.arrayContaining([
        { table: "public.vacuum_probe", vacuumed: true, analysed: true },
        { table: 'public."Vacuum probe ""two"""', vacuumed: true, analysed: true },
      ]),
    );
    const [stats] = await db
      .select({ dead: sql<number>`n_dead_tup::float8`, vacuumed: sql<boolean>`last_vacuum is not null`, analysed: sql<boolean>`last_analyze is not null` })
      .from(sql`pg_stat_user_tables`)
      .where(sql`relname = 'vacuum_probe'`);
    expect(stats).toEqual({ dead: 0, vacuumed: true, analysed: true });

    expect((await vacuum.run()).map((done) => done.table)).not.toContain("public.vacuum_probe");
  });

  it("keeps a churning table from growing: the space of deleted rows is used again", async () => {
    await db.execute(sql`create table vacuum_growth (id serial primary key, body text not null)`);
    const vacuum = createEmbeddedVacuum(db);
    await churn("vacuum_growth");
    await vacuum.run();
    // Never vacuumed, the same churn would take as many new pages again every round (20 times the first round's).
    const bound = Math.max(await heapBytes("vacuum_growth"), 8192 * 16);
    for (let round = 0; round < 20; round++) {
      await churn("vacuum_growth");
      await vacuum.run();
    }
    expect(await heapBytes("vacuum_growth")).toBeLessThanOrEqual(bound);
  });
});
