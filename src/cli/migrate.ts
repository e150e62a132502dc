import { describeDatabase } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { loadConfig } from "./load-config.ts";

/** `servauth migrate`: apply pending migrations and exit. */
export async function migrate(): Promise<void> {
  const config = await loadConfig();
  const database = await createDb(config.database);
  try {
    await migrateDatabase(database);
    console.log(`migrations applied to ${describeDatabase(config.database)}`);
  } finally {
    await database.close();
  }
}
