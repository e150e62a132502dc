import { createArgon2Hasher } from "../auth/password.ts";
import type { AppConfig } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import type { MailOutput } from "../delivery/console-mailer.ts";
import { createMailer } from "../delivery/create-mailer.ts";
import type { AuditContext } from "../observability/audit.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createRevocationBus } from "../sessions/create-bus.ts";
import { createServices, type ServiceDeps, type Services } from "../services.ts";
import { loadConfig } from "./load-config.ts";

/** Audit events caused by an operator at the command line rather than by a request. */
export const CLI_AUDIT_CONTEXT: AuditContext = { ipAddress: null, userAgent: "servauth-cli", requestId: null, sessionId: null };

export type OpenServicesOptions = {
  /** Apply pending migrations first: not in a worker, whose supervisor did. */
  migrate: boolean;
  gatherWorkerMetrics?: ServiceDeps["gatherWorkerMetrics"];
  /** Where development mail is printed: beside the logs. */
  mailOutput: MailOutput;
};

export type OpenedServices = {
  services: Services;
  /** Closes services, mailer (waiting for queued mail), bus and database, in the reverse of the order they opened. */
  teardown(): Promise<void>;
};

/**
 * Wires what the server and the CLI commands share: database (migrated when asked), revocation bus, mailer and the
 * services over them. If a step fails, what was opened before it is closed and the error is rethrown.
 */
export async function openServices(config: AppConfig, logger: Logger, options: OpenServicesOptions): Promise<OpenedServices> {
  const steps: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const step of steps.splice(0).reverse()) await step();
  };
  try {
    const database = await createDb(config.database);
    steps.push(() => database.close());
    if (options.migrate) await migrateDatabase(database);
    const bus = await createRevocationBus(config, logger);
    steps.push(() => bus.close());
    const mailer = createMailer(config, logger, options.mailOutput);
    steps.push(() => mailer.close());
    const hasher = createArgon2Hasher();
    const services = await createServices({ config, database, bus, hasher, logger, mailer, gatherWorkerMetrics: options.gatherWorkerMetrics });
    steps.push(() => services.close());
    return { services, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/**
 * Runs `fn` with the same services the server wires (so a user created here is created as registration creates
 * one, and a revocation reaches running instances over the bus), then closes everything, waiting for queued mail.
 * Logs go to stderr, so stdout carries only the command's output. On the embedded database the server must be
 * stopped: PGlite is single-process.
 */
export async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const config = await loadConfig();
  const logger = createLogger({ level: config.logLevel, destination: process.stderr });
  const { services, teardown } = await openServices(config, logger, { migrate: true, mailOutput: process.stderr });
  try {
    return await fn(services);
  } finally {
    await teardown();
  }
}
