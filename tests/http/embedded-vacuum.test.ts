import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/client.ts";
import { createEmbeddedVacuum } from "../../src/db/embedded-vacuum.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";

/**
 * The embedded database has no autovacuum (PGlite runs PostgreSQL as one standalone backend): the server's periodic
 * job does its work (src/db/embedded-vacuum.ts). On the worker-thread tier it runs through the thread like every
 * other statement; a PostgreSQL server vacuums itself and does not run the job.
 */
let database: TestDatabase;
let db: Database;
const logged: Array<{ level: number; msg: string; table?: string }> = [];
const logger = createLogger({ level: "debug", destination: { write: (line: string) => void logged.push(JSON.parse(line)) } });

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
    const vacuum = createEmbeddedVacuum(db, logger);

    const first = await vacuum.run();
    expect(first).toEqual(
      expect.arrayContaining([
        { table: "public.vacuum_probe", vacuumed: true, analysed: true, ms: expect.any(Number) },
        { table: 'public."Vacuum probe ""two"""', vacuumed: true, analysed: true, ms: expect.any(Number) },
      ]),
    );
    const [stats] = await db
      .select({ dead: sql<number>`n_dead_tup::float8`, vacuumed: sql<boolean>`last_vacuum is not null`, analysed: sql<boolean>`last_analyze is not null` })
      .from(sql`pg_stat_user_tables`)
      .where(sql`relname = 'vacuum_probe'`);
    expect(stats).toEqual({ dead: 0, vacuumed: true, analysed: true });

    expect((await vacuum.run()).map((done) => done.table)).not.toContain("public.vacuum_probe");
  });

  it("goes on to the other tables when one fails, and logs which", async () => {
    // An index over an expression that fails while the setting is on: ANALYZE evaluates it, and fails.
    await db.execute(sql`create function vacuum_probe_fails(n int) returns int language plpgsql immutable as $$
      begin if current_setting('probe.fail', true) = 'on' then raise exception 'analyse refused'; end if; return n; end $$`);
    await db.execute(sql`create table vacuum_failing (id serial primary key, body text not null)`);
    await db.execute(sql`create index on vacuum_failing (vacuum_probe_fails(id))`);
    await db.execute(sql`create table vacuum_after (id serial primary key, body text not null)`);
    // Rows left for ANALYZE to sample (it evaluates the index's expression over them), and rows deleted.
    await db.execute(sql`insert into vacuum_failing (body) select 'x' from generate_series(1, 500)`);
    await db.execute(sql`delete from vacuum_failing where id > 100`);
    await churn("vacuum_after");
    await db.execute(sql`set probe.fail = on`);
    try {
      const done = (await createEmbeddedVacuum(db, logger).run()).map((table) => table.table);
      expect(done).toContain("public.vacuum_after");
      expect(done).not.toContain("public.vacuum_failing");
    } finally {
      await db.execute(sql`reset probe.fail`);
    }
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, table: "public.vacuum_failing", msg: expect.stringMatching(/vacuum of a table failed/) }));
  });

  it("keeps a churning table from growing: the space of deleted rows is used again", async () => {
    await db.execute(sql`create table vacuum_growth (id serial primary key, body text not null)`);
    const vacuum = createEmbeddedVacuum(db, logger);
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
