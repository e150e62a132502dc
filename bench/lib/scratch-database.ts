import postgres from "postgres";

/** A database of its own on the PostgreSQL server, for one benchmark; `backends` lists its server processes. */
export type ScratchDatabase = { url: string; backends(): Promise<number[]> };

/** Creates the database, runs `fn`, drops it (even while servers still hold connections to it). */
export async function withScratchDatabase<T>(adminUrl: string, prefix: string, fn: (database: ScratchDatabase) => Promise<T>): Promise<T> {
  // The pid too: two runs side by side (one tree against another) may start in the same millisecond.
  const name = `servauth_${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const backends = async () => (await admin`select pid from pg_stat_activity where datname = ${name}`).map((row) => Number(row.pid));
    return await fn({ url: url.toString(), backends });
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
