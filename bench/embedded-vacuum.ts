/**
 * What the embedded database's vacuum job is worth (src/db/embedded-vacuum.ts): the login's own session statement
 * (insert the session and its refresh token, evict the oldest beyond the cap of 10) for 100 accounts in turn, on an
 * in-memory PGlite with the server's schema, once with no vacuum (PGlite has no autovacuum) and once with the job's
 * run after every 2,000 sessions. Prints, per third of the run, the sessions per second and the size of the two
 * tables with their indexes, and the longest of the job's runs (the time the statements behind it wait). Then how
 * long the job holds the database for a large table: an audit trail of `auditRows` events never vacuumed (as after
 * an upgrade to the version with the job), and again after a quarter of them is deleted (a retention purge).
 *
 *   bun bench/embedded-vacuum.ts [sessions=60000] [auditRows=1000000]
 */
import { sql } from "drizzle-orm";
import { createDb } from "../src/db/client.ts";
import { createEmbeddedVacuum } from "../src/db/embedded-vacuum.ts";
import { migrateDatabase } from "../src/db/migrate.ts";
import { createLogger } from "../src/observability/logger.ts";
import { users } from "../src/db/tables/users.ts";
import { prepareInsertSession } from "../src/sessions/insert-session.ts";

const SESSIONS = Number(process.argv[2] ?? 60_000);
const AUDIT_ROWS = Number(process.argv[3] ?? 1_000_000);
const ACCOUNTS = 100;
const CAP = 10;
const VACUUM_EVERY = 2_000;
const PHASES = 3;

async function run(vacuumEvery: number | null) {
  const handle = await createDb({ kind: "pglite", dataDir: null, thread: "main" });
  try {
    await migrateDatabase(handle);
    const { db } = handle;
    const accounts = await db
      .insert(users)
      .values(Array.from({ length: ACCOUNTS }, (_, i) => ({ email: `vacuum-${i}@example.com`, name: `vacuum ${i}` })))
      .returning({ id: users.id });
    const insertSession = prepareInsertSession(db);
    const vacuum = createEmbeddedVacuum(db, createLogger({ level: "warn" }));
    const mib = async () => {
      const [row] = await db
        .select({ bytes: sql<number>`(pg_total_relation_size('sessions') + pg_total_relation_size('refresh_tokens'))::float8` })
        .from(sql`(select 1) as one`);
      return (Number(row?.bytes) / 2 ** 20).toFixed(1);
    };
    const perPhase = SESSIONS / PHASES;
    let longestVacuumMs = 0;
    const lines: string[] = [];
    for (let phase = 0; phase < PHASES; phase++) {
      const started = performance.now();
      for (let i = phase * perPhase; i < (phase + 1) * perPhase; i++) {
        const at = new Date();
        await insertSession({
          userId: accounts[i % ACCOUNTS]!.id,
          sessionTokenHash: crypto.randomUUID(),
          refreshTokenHash: crypto.randomUUID(),
          createdAt: at,
          expiresAt: new Date(at.getTime() + 3_600_000),
          ipAddress: "192.0.2.1",
          userAgent: "bench",
          amr: ["pwd"],
          aal: 1,
          impersonatorId: null,
          keepExisting: CAP - 1,
        });
        if (vacuumEvery !== null && (i + 1) % vacuumEvery === 0) {
          const vacuumStarted = performance.now();
          await vacuum.run();
          longestVacuumMs = Math.max(longestVacuumMs, performance.now() - vacuumStarted);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      lines.push(`sessions ${phase * perPhase + 1}-${(phase + 1) * perPhase}: ${(perPhase / seconds).toFixed(0)}/s, tables ${await mib()} MiB`);
    }
    const how = vacuumEvery === null ? "no vacuum" : `the vacuum job's run every ${vacuumEvery} sessions (longest run ${longestVacuumMs.toFixed(1)} ms)`;
    console.log(`${how}:\n  ${lines.join("\n  ")}`);
  } finally {
    await handle.close();
  }
}

async function largeTable(rows: number) {
  const handle = await createDb({ kind: "pglite", dataDir: null, thread: "main" });
  try {
    await migrateDatabase(handle);
    const { db } = handle;
    const vacuum = createEmbeddedVacuum(db, createLogger({ level: "error" }));
    await db.execute(sql`insert into audit_events (type, user_id, session_id, payload, ip_address, user_agent, request_id)
      select 'login.succeeded', gen_random_uuid(), gen_random_uuid(), '{"via": "password"}'::jsonb, '192.0.2.1',
        'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', gen_random_uuid()::text
      from generate_series(1, ${rows})`);
    const timedRun = async () => {
      // The statistics the job reads are published at most once a second unless asked for now.
      await db.execute(sql`select pg_stat_force_next_flush()`);
      const started = performance.now();
      const done = await vacuum.run();
      return `${(performance.now() - started).toFixed(0)} ms (${done.map((table) => table.table).join(", ")})`;
    };
    const first = await timedRun();
    await db.execute(sql`delete from audit_events where seq <= ${Math.round(rows / 4)}`);
    const afterPurge = await timedRun();
    console.log(`an audit trail of ${rows} events: the job's first run ${first}; after a quarter is deleted, ${afterPurge}`);
  } finally {
    await handle.close();
  }
}

console.log(`${typeof Bun === "undefined" ? `node ${process.version}` : `bun ${Bun.version}`}; ${SESSIONS} sessions over ${ACCOUNTS} accounts, cap ${CAP}`);
await run(null);
await run(VACUUM_EVERY);
await largeTable(AUDIT_ROWS);
