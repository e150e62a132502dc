import { readFile } from "node:fs/promises";
import { PGlite, type QueryOptions } from "@electric-sql/pglite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { type PgliteClient, preparePglite } from "../../src/db/prepared-pglite.ts";

/**
 * PGlite with its statements prepared once (issue #22): the same answers and errors as PGlite's own query(), while
 * PostgreSQL parses each statement text once. What PostgreSQL keeps prepared is read from pg_prepared_statements
 * through PGlite's own (unnamed) query(), so the inspection prepares nothing.
 */

const loadSnapshot = async () => PGlite.create({ loadDataDir: new Blob([await readFile(inject("pgliteSnapshotPath"))]) });

let pg: PGlite;
beforeAll(async () => {
  pg = await loadSnapshot();
});
afterAll(async () => {
  await pg.close();
});

/** A client over the shared PGlite, its statements forgotten by PostgreSQL first (each test starts with none). */
async function freshClient(capacity?: number): Promise<PgliteClient> {
  await pg.exec(`deallocate all; reset search_path; drop schema if exists probe_elsewhere cascade;
    drop table if exists probe; drop sequence if exists probe_runs;
    drop function if exists probe_count_and_fail; drop function if exists probe_notice;
    create table probe (id int primary key, note text)`);
  return preparePglite(pg, capacity);
}

type PreparedRow = { statement: string; runs: number };
async function preparedStatements(): Promise<PreparedRow[]> {
  const { rows } = await pg.query<PreparedRow>(
    "select statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements order by prepare_time, name",
  );
  return rows;
}

describe("PGlite with prepared statements", () => {
  let client: PgliteClient;
  beforeEach(async () => {
    client = await freshClient();
  });

  it("prepares a statement text once and runs it again by name", async () => {
    const sum = "select $1::int + 1 as sum";
    for (const n of [1, 2, 3]) expect((await client.query(sum, [n])).rows).toEqual([{ sum: n + 1 }]);
    expect(await preparedStatements()).toEqual([{ statement: sum, runs: 3 }]);
  });

  it("answers as PGlite's own query() does, for every kind of value and both row modes", async () => {
    const statement = `select $1::text as text, $2::int8 as big, $3::timestamptz as at, $4::jsonb as doc, $5::text[] as list,
      $6::boolean as flag, $7::text as nothing, $8::uuid as id, 'x'::text as constant`;
    const params = ["a'b", 9007199254740993n, new Date("2026-12-05T10:00:00.123Z"), { nested: [1, "two"] }, ["p", "q"], true, null, "0b7a1c8e-3f55-4a3e-9a59-0f3d2c8e8a11"];
    const identityForText: QueryOptions = { rowMode: "array", parsers: { 25: (value: string) => `raw:${value}` } };
    for (const options of [{}, identityForText]) {
      const ours = await client.query(statement, params, options);
      const theirs = await pg.query(statement, params, options);
      expect({ rows: ours.rows, fields: ours.fields }).toEqual({ rows: theirs.rows, fields: theirs.fields });
    }
    await client.query("insert into probe values ($1, $2), ($3, $4)", [1, "one", 2, "two"]);
    const changed = await client.query("update probe set note = $1", ["both"]);
    expect(changed).toMatchObject({ affectedRows: 2, rows: [], fields: [] });
  });

  it("parses with a parser PGlite adds after the caller's parsers were first used (an array type's, on refreshArrayTypes)", async () => {
    // The same options object throughout: the client merges each parsers object with PGlite's once.
    const options: QueryOptions = { parsers: { 25: (value: string) => value } };
    await pg.exec("drop type if exists probe_mood; create type probe_mood as enum ('calm', 'busy')");
    const moods = "select array['calm', 'busy']::probe_mood[] as moods";
    const before = await client.query(moods, [], options);
    expect(before.rows).toEqual((await pg.query(moods, [], options)).rows);
    await pg.refreshArrayTypes();
    const after = await client.query(moods, [], options);
    expect(after.rows).toEqual([{ moods: ["calm", "busy"] }]);
    expect(after.rows).toEqual((await pg.query(moods, [], options)).rows);
    await pg.exec("drop type probe_mood");
  });

  it("keeps PostgreSQL's error fields, and the statement after an error runs", async () => {
    const insert = "insert into probe (id, note) values ($1, $2)";
    await client.query(insert, [1, "first"]);
    await expect(client.query(insert, [1, "again"])).rejects.toMatchObject({ code: "23505", constraint: "probe_pkey" });
    await expect(client.query(insert, ["not a number", "x"])).rejects.toMatchObject({ code: "22P02" });
    expect((await client.query("select count(*)::int as n from probe")).rows).toEqual([{ n: 1 }]);
  });

  it("refuses what PGlite's own query() refuses, and keeps nothing of it", async () => {
    await expect(client.query("selec 1")).rejects.toMatchObject({ code: "42601" });
    await expect(client.query("select 1; select 2")).rejects.toMatchObject({ code: "42601" });
    expect(await preparedStatements()).toEqual([]);
  });

  it("fails as a closed PGlite does once it is closed (src/db/errors.ts reads it as the database unavailable)", async () => {
    const closing = await loadSnapshot();
    const closed = preparePglite(closing);
    await closed.close();
    expect(closed.closed).toBe(true);
    await expect(closed.query("select 1")).rejects.toThrow("PGlite is closed");
  });

  it("closes the least recently run statement when it holds as many as it may", async () => {
    const bounded = await freshClient(2);
    const [a, b, c] = ["select 'a' as v", "select 'b' as v", "select 'c' as v"];
    await bounded.query(a);
    await bounded.query(b);
    await bounded.query(a);
    await bounded.query(c);
    expect((await preparedStatements()).map((row) => row.statement)).toEqual([a, c]);
    expect((await bounded.query(b)).rows).toEqual([{ v: "b" }]);
    expect((await preparedStatements()).map((row) => row.statement)).toEqual([c, b]);
  });

  it("prepares again a statement that a schema change made elsewhere left stale", async () => {
    const everything = "select * from probe order by id";
    const insert = "insert into probe (id, note) values ($1, $2)";
    await client.query(insert, [1, "one"]);
    expect((await client.query(everything)).rows).toEqual([{ id: 1, note: "one" }]);
    await pg.exec("alter table probe add column extra int default 7");
    // Outside a transaction the statement is prepared again and run once more.
    expect((await client.query(everything)).rows).toEqual([{ id: 1, note: "one", extra: 7 }]);

    await pg.exec("alter table probe drop column extra");
    // Inside one, PostgreSQL's error ends the transaction (a retry would meet its abort); the next run prepares again.
    const inTransaction = client.transaction((tx) => tx.query(everything));
    await expect(inTransaction).rejects.toMatchObject({ code: "0A000" });
    expect((await client.query(everything)).rows).toEqual([{ id: 1, note: "one" }]);

    // A parameter's type is kept as parsed: the kept insert would bind a text for a jsonb column (42804).
    await pg.exec("alter table probe alter column note type jsonb using to_jsonb(note)");
    await client.query(insert, [2, { now: "json" }]);
    expect((await client.query(everything)).rows).toEqual([
      { id: 1, note: "one" },
      { id: 2, note: { now: "json" } },
    ]);
  });

  it("forgets every kept statement after a schema change made through it, so a changed column takes its new values", async () => {
    const insert = "insert into probe (id, note) values ($1, $2)";
    await client.query(insert, [1, "int"]);
    // Kept as parsed, the insert would still bind an int4 (22003 at every run), then an int8 (22P02).
    await client.query("alter table probe alter column id type bigint");
    await client.query(insert, [2 ** 40, "bigint"]);
    await client.exec("alter table probe alter column id type numeric");
    await client.query(insert, [1.5, "numeric"]);
    expect((await client.query("select id::text, note from probe order by id")).rows).toEqual([
      { id: "1", note: "int" },
      { id: "1.5", note: "numeric" },
      { id: String(2 ** 40), note: "bigint" },
    ]);
    // Prepared a third time after the second change.
    expect(await preparedStatements()).toEqual([
      { statement: insert, runs: 1 },
      { statement: "select id::text, note from probe order by id", runs: 1 },
    ]);
  });

  it("keeps nothing new inside a transaction that changed the schema, so its rollback leaves no statement stale", async () => {
    const byNote = "select id from probe where note = $1";
    await client.query("insert into probe values (1, '1')");
    const undone = client.transaction(async (tx) => {
      await tx.query("alter table probe alter column note type int using note::int");
      expect((await tx.query(byNote, [1])).rows).toEqual([{ id: 1 }]);
      throw new Error("undone");
    });
    await expect(undone).rejects.toThrow("undone");
    // Kept from inside, the select would compare the text column with an int4 parameter (42883) at every run.
    expect((await client.query(byNote, ["1"])).rows).toEqual([{ id: 1 }]);
  });

  it("forgets the kept statements after exec(), even one that failed after committing a change, before anything else runs", async () => {
    const insert = "insert into probe (id, note) values ($1, $2)";
    await client.query(insert, [1, "int"]);
    await expect(client.exec("alter table probe alter column id type bigint; commit; select 1/0")).rejects.toMatchObject({ code: "22012" });
    await client.query(insert, [2 ** 40, "bigint"]);
    // The statement after the exec() waits for it, and finds the kept ones already forgotten.
    await Promise.all([client.exec("alter table probe alter column id type numeric"), client.query(insert, [1.5, "numeric"])]);
    expect((await client.query("select count(*)::int as n from probe")).rows).toEqual([{ n: 3 }]);
  });

  it("forgets the kept statements after a SET, which can change the tables their names mean", async () => {
    const insert = "insert into probe (id, note) values ($1, $2)";
    await client.query(insert, [1, "public"]);
    await client.exec("create schema probe_elsewhere; create table probe_elsewhere.probe (id bigint primary key, note text)");
    await client.query("set search_path = probe_elsewhere, public");
    await client.query(insert, [2 ** 40, "elsewhere"]);
    expect((await pg.query("select note from probe_elsewhere.probe")).rows).toEqual([{ note: "elsewhere" }]);
  });

  it("keeps its statements through VACUUM and ANALYZE, which change no statement's meaning, and refuses anything riding behind them", async () => {
    const count = "select count(*)::int as n from probe";
    await client.query(count);
    for (const maintenance of ["vacuum probe", "VACUUM (ANALYZE) probe", "analyze probe", "  analyse probe"]) await client.query(maintenance);
    await client.query(count);
    expect(await preparedStatements()).toEqual([{ statement: count, runs: 2 }]);
    await expect(client.query("vacuum probe; drop table probe")).rejects.toThrow(/multiple commands/);
    expect((await client.query(count)).rows).toEqual([{ n: 0 }]);
  });

  it("runs an error raised after Bind once, even when PostgreSQL names a stale statement as its cause", async () => {
    await client.exec(`create sequence probe_runs;
      create function probe_count_and_fail() returns int language plpgsql as $$
      begin perform nextval('probe_runs'); execute 'execute no_such_statement'; return 1; end $$`);
    await expect(client.query("select probe_count_and_fail()")).rejects.toMatchObject({ code: "26000" });
    expect((await pg.query("select last_value::int as runs from probe_runs")).rows).toEqual([{ runs: 1 }]);
  });

  it("runs unnamed what PostgreSQL does not plan, and passes notices on", async () => {
    await client.query("prepare probe_plan as select 1 as a");
    expect((await client.query("execute probe_plan")).rows).toEqual([{ a: 1 }]);
    await client.query("deallocate probe_plan");
    await client.query("prepare probe_plan as select 1 as a, 2 as b");
    // Kept, EXECUTE would answer with the columns it was first parsed with.
    expect((await client.query("execute probe_plan")).rows).toEqual([{ a: 1, b: 2 }]);
    const wide = Array.from({ length: 65 }, (_, index) => `$${index + 1}::int`).join(" + ");
    expect((await client.query(`select ${wide} as total`, Array.from({ length: 65 }, () => 1))).rows).toEqual([{ total: 65 }]);
    expect((await preparedStatements()).map((row) => row.statement)).toEqual(["prepare probe_plan as select 1 as a, 2 as b"]);

    const notices: string[] = [];
    await client.exec("create function probe_notice() returns int language plpgsql as $$ begin raise notice 'noticed'; return 1; end $$");
    await client.query("select probe_notice()", [], { onNotice: (notice) => notices.push(notice.message ?? "") });
    await client.query("do $$ begin raise notice 'noticed too'; end $$", [], { onNotice: (notice) => notices.push(notice.message ?? "") });
    expect(notices).toEqual(["noticed", "noticed too"]);
  });

  it("names its statements apart from another client's on the same PGlite", async () => {
    const other = preparePglite(pg);
    for (const each of [client, other]) expect((await each.query("select 'shared text' as v")).rows).toEqual([{ v: "shared text" }]);
    expect(await preparedStatements()).toEqual([
      { statement: "select 'shared text' as v", runs: 1 },
      { statement: "select 'shared text' as v", runs: 1 },
    ]);
  });

  it("runs a statement from outside a transaction only once the transaction has ended", async () => {
    const count = "select count(*)::int as n from probe";
    let outside: Promise<unknown> | undefined;
    let outsideAnswered = false;
    await client.transaction(async (tx) => {
      await tx.query("insert into probe values ($1, $2)", [1, "in the transaction"]);
      outside = client.query(count).then(({ rows }) => {
        outsideAnswered = true;
        return rows;
      });
      // Several turns of the event loop: time enough for the outside statement to run, were it not held.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(outsideAnswered).toBe(false);
      await tx.query("insert into probe values ($1, $2)", [2, "still in it"]);
    });
    expect(await outside).toEqual([{ n: 2 }]);
  });

  it("rolls a failed transaction back, and refuses its handle afterwards", async () => {
    let kept: Parameters<Parameters<PgliteClient["transaction"]>[0]>[0] | undefined;
    const failing = client.transaction(async (tx) => {
      kept = tx;
      await tx.query("insert into probe values ($1, $2)", [1, "rolled back"]);
      throw new Error("the caller's failure");
    });
    await expect(failing).rejects.toThrow("the caller's failure");
    expect((await client.query("select count(*)::int as n from probe")).rows).toEqual([{ n: 0 }]);
    await expect(kept!.query("select 1")).rejects.toThrow("Transaction is closed");
    expect(client.isInTransaction()).toBe(false);
  });
});
