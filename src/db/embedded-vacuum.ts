import { sql } from "drizzle-orm";
import type { Logger } from "../observability/logger.ts";
import type { Database } from "./client.ts";

/** A table the run vacuumed or analysed, as PostgreSQL's `format('%I.%I')` quotes it, what was done, how long it took. */
export type TableMaintained = { table: string; vacuumed: boolean; analysed: boolean; ms: number };

/** A run that held the embedded database's one connection longer than this is worth an operator's attention. */
const SLOW_TABLE_MS = 1000;

/**
 * The tables past autovacuum's thresholds, read from the database's settings as autovacuum reads them (their
 * server-wide values: no table of Servauth's sets its own, and PGlite's are PostgreSQL's defaults):
 * dead rows over `autovacuum_vacuum_threshold` + `autovacuum_vacuum_scale_factor` x the table's rows, rows
 * inserted since the last vacuum over the insert threshold and scale (so that insert-only tables get their
 * visibility map set), and rows changed since the last analyse over the analyse threshold and scale.
 */
const threshold = (name: string) =>
  sql`current_setting(${`autovacuum_${name}_threshold`})::float8 + current_setting(${`autovacuum_${name}_scale_factor`})::float8 * greatest(c.reltuples, 0)`;
const TABLE_STATE = {
  table: sql<string>`format('%I.%I', t.schemaname, t.relname)`,
  vacuum: sql<boolean>`(t.n_dead_tup > ${threshold("vacuum")} or t.n_ins_since_vacuum > ${threshold("vacuum_insert")})`,
  analyse: sql<boolean>`(t.n_mod_since_analyze > ${threshold("analyze")})`,
};
const USER_TABLES = sql`pg_stat_user_tables t join pg_class c on c.oid = t.relid`;

/**
 * What autovacuum does on a PostgreSQL server, for the embedded database, which has none: PGlite runs PostgreSQL
 * as one standalone backend, with no autovacuum launcher, so nothing else ever vacuums or analyses it. A table
 * with churn (sessions the cap evicts, rotated refresh tokens, delivered outbox messages) then grows without bound
 * and every statement over it slows down: the space of deleted rows is reused only once a vacuum has recorded it,
 * and their index entries stay. Each run handles the tables past autovacuum's own thresholds, one statement per
 * table, so the requests queued behind the embedded database's single connection wait for one table at a time.
 */
export function createEmbeddedVacuum(db: Database, logger: Logger) {
  async function maintain(table: string, vacuum: boolean, analyse: boolean): Promise<TableMaintained> {
    // `table` is the catalogue's own name, quoted by format('%I'): safe to splice.
    const command = vacuum ? `vacuum${analyse ? " (analyze)" : ""} ${table}` : `analyze ${table}`;
    const started = performance.now();
    await db.execute(sql.raw(command));
    const done = { table, vacuumed: vacuum, analysed: analyse, ms: Math.round(performance.now() - started) };
    if (done.ms > SLOW_TABLE_MS) logger.warn(done, "the embedded database's vacuum of a table held its statements back for over a second");
    return done;
  }
  return {
    /** One pass over the tables that are due; a table that fails is logged, and the others are still done. */
    async run(): Promise<TableMaintained[]> {
      const tables = await db.select(TABLE_STATE).from(USER_TABLES);
      const maintained: TableMaintained[] = [];
      for (const { table, vacuum, analyse } of tables) {
        if (!vacuum && !analyse) continue;
        try {
          maintained.push(await maintain(table, vacuum, analyse));
        } catch (error) {
          logger.error({ err: error, table }, "the embedded database's vacuum of a table failed; will retry");
        }
      }
      if (maintained.length > 0) logger.debug({ tables: maintained }, "embedded database vacuumed");
      return maintained;
    },
  };
}
