import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createSigningKeyBox, rotateSigningKey } from "../tokens/signing-keys.ts";
import { type Command, parseCommandArgs } from "./command.ts";
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

export const keysRotateCommand: Command = {
  name: "keys rotate",
  summary: "add a new current signing key (the old one stays published until its tokens expire)",
  help: `usage: servauth keys rotate

Adds a new current access-token signing key. Running instances sign with it within 30 s; the previous key stays
in /.well-known/jwks.json until the last token it signed has expired, so no client is signed out.
On the embedded database (no DATABASE_URL) stop the server first: PGlite is single-process.
`,
  async run(args) {
    parseCommandArgs(args, {});
    await rotateKeys();
  },
};
