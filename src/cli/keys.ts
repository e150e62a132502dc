import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createSigningKeyBox, rotateSigningKey } from "../tokens/signing-keys.ts";
import { loadConfig } from "./load-config.ts";

/**
 * `servauth keys rotate`: adds a new current signing key. Running instances start signing with it within 30 s
 * (or at once on seeing its kid); the previous key stays published until its last token has expired. On the
 * embedded database, stop the server first: PGlite is single-process.
 */
export async function rotateKeys(): Promise<void> {
  const config = await loadConfig();
  const database = await createDb(config.database);
  try {
    await migrateDatabase(database);
    const kid = await rotateSigningKey(database, createSigningKeyBox(config.authSecret), {
      accessTtlSeconds: config.tokens.accessTtlSeconds,
    });
    console.log(`new signing key ${kid} is current; the previous key stays published for ${config.tokens.accessTtlSeconds} s`);
  } finally {
    await database.close();
  }
}
