import { createArgon2Hasher } from "../../src/auth/password.ts";
import { loadConfig } from "../../src/cli/load-config.ts";
import { createDb } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { createMailer } from "../../src/delivery/create-mailer.ts";
import { createApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createServices } from "../../src/services.ts";
import { createRevocationBus } from "../../src/sessions/create-bus.ts";
import { generousRateLimits } from "./server.ts";

export const IN_PROCESS_APP_URL = "http://127.0.0.1:3000";

/**
 * The app as the server wires it, in this process, configured by `env` on top of production settings with
 * generous rate limits and a toy argon2id (m=64, t=1: the hash costs next to nothing, so what is measured is the
 * rest). `fetch` answers as if from 127.0.0.1 over Bun's server.
 */
export async function openInProcessApp(env: Record<string, string>) {
  Object.assign(process.env, {
    NODE_ENV: "production",
    APP_URL: IN_PROCESS_APP_URL,
    AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123456789",
    LOG_LEVEL: "warn",
    MAIL_TRANSPORT: "log",
    ...(await generousRateLimits()),
    ...env,
  });
  const config = await loadConfig();
  const logger = createLogger({ level: config.logLevel, destination: process.stderr });
  const handle = await createDb(config.database);
  await migrateDatabase(handle);
  const bus = await createRevocationBus(config, logger);
  const mailer = createMailer(config, logger, process.stderr);
  const hasher = createArgon2Hasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });
  const services = await createServices({ config, database: handle, bus, hasher, logger, mailer });
  const app = createApp(services, { readSocketAddress: () => "127.0.0.1" });
  const serverEnv = { server: { requestIP: () => ({ address: "127.0.0.1" }) } };
  return {
    fetch: (request: Request) => app.fetch(request, serverEnv),
    async close() {
      await services.close();
      await mailer.close();
      await bus.close();
      await handle.close();
    },
  };
}
