import { randomBytes } from "node:crypto";
import postgres from "postgres";

/**
 * An empty database of its own on the PostgreSQL server named by an admin URL (the servers migrate it themselves),
 * with a connection for the test to look behind the servers' backs. drop() removes it even while servers still
 * hold connections to it.
 */
export type ScratchDatabase = { name: string; url: string; sql: postgres.Sql; drop(): Promise<void> };

export async function createScratchDatabase(adminUrl: string, prefix = "servauth_e2e"): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    sql,
    drop() {
      dropped ??= (async () => {
        await sql.end({ timeout: 5 }).catch(() => {});
        const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
        try {
          await cleanup.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await cleanup.end({ timeout: 5 });
        }
      })();
      return dropped;
    },
  };
}
