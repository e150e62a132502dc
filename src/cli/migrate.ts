import { describeDatabase } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { type Command, parseCommandArgs } from "./command.ts";
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

export const migrateCommand: Command = {
  name: "migrate",
  summary: "apply pending database migrations and exit",
  help: `usage: servauth migrate

Applies pending migrations to the configured database (DATABASE_URL, or the embedded one under DATA_DIR) under
an advisory lock, so it is safe while other instances start. \`servauth serve\` does the same at start-up.
`,
  async run(args) {
    parseCommandArgs(args, {});
    await migrate();
  },
};
