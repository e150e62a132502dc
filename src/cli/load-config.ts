import { resolveAuthSecret } from "../config/auth-secret.ts";
import { type AppConfig, buildConfig } from "../config/config.ts";
import { parseEnv } from "../config/env.ts";

/** The only place the process environment is read. */
export async function loadConfig(source: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const env = parseEnv(source);
  return buildConfig(env, await resolveAuthSecret(env));
}
