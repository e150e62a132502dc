import { createArgon2Hasher } from "../auth/password.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { createMailer } from "../delivery/create-mailer.ts";
import type { AuditContext } from "../observability/audit.ts";
import { createLogger } from "../observability/logger.ts";
import { createRevocationBus } from "../sessions/create-bus.ts";
import { createServices, type Services } from "../services.ts";
import { loadConfig } from "./load-config.ts";

/** Audit events caused by an operator at the command line rather than by a request. */
export const CLI_AUDIT_CONTEXT: AuditContext = { ipAddress: null, userAgent: "servauth-cli", requestId: null };

/**
 * Runs `fn` with the same services the server wires (so a user created here is created as registration creates
 * one, and a revocation reaches running instances over the bus), then closes everything, waiting for queued mail.
 * Logs go to stderr, so stdout carries only the command's output. On the embedded database the server must be
 * stopped: PGlite is single-process.
 */
export async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const config = await loadConfig();
  const logger = createLogger({ level: config.logLevel, destination: process.stderr });
  const teardown: Array<() => Promise<void>> = [];
  try {
    const database = await createDb(config.database);
    teardown.push(() => database.close());
    await migrateDatabase(database);
    const bus = await createRevocationBus(config, logger);
    teardown.push(() => bus.close());
    const mailer = createMailer(config, logger);
    teardown.push(() => mailer.close());
    const services = await createServices({ config, database, bus, hasher: createArgon2Hasher(), logger, mailer });
    teardown.push(() => services.close());
    return await fn(services);
  } finally {
    for (const step of teardown.reverse()) await step();
  }
}
