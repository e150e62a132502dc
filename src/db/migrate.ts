import { fileURLToPath } from "node:url";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type { DatabaseHandle } from "./client.ts";
import type { Schema } from "./schema.ts";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));
/** Arbitrary constant shared by every Servauth instance: "servauth" as a 32-bit number. */
const MIGRATION_LOCK_ID = 0x5e7a_0001;

/** Applies pending migrations; safe to call from several instances at once. */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  await handle.withAdvisoryLock(MIGRATION_LOCK_ID, async () => {
    const config = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: "servauth_migrations" };
    if (handle.kind === "pglite") await migratePglite(handle.db as PgliteDatabase<Schema>, config);
    else await migratePostgres(handle.db as PostgresJsDatabase<Schema>, config);
  });
}
