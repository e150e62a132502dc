import { sql } from "drizzle-orm";
import type { Database } from "./client.ts";

/** A table the run vacuumed or analysed, as PostgreSQL's `format('%I.%I')` quotes it, and what was done. */
export type TableMaintained = { table: string; vacuumed: boolean; analysed: boolean };

/**
 * The tables past autovacuum's thresholds, which it reads from the database's own settings as autovacuum does:
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
export function createEmbeddedVacuum(db: Database) {
  return {
    async run(): Promise<TableMaintained[]> {
      const tables = await db.select(TABLE_STATE).from(USER_TABLES);
      const maintained: TableMaintained[] = [];
      for (const { table, vacuum, analyse } of tables) {
        if (!vacuum && !analyse) continue;
        // `table` is the catalogue's own name, quoted by format('%I'): safe to splice.
        const command = vacuum ? `vacuum${analyse ? " (analyze)" : ""} ${table}` : `analyze ${table}`;
        await db.execute(sql.raw(command));
        maintained.push({ table, vacuumed: vacuum, analysed: analyse });
      }
      return maintained;
    },
  };
}
