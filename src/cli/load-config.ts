import { resolveAuthSecret } from "../config/auth-secret.ts";
import { type AppConfig, buildConfig } from "../config/config.ts";
import { type Env, parseEnv } from "../config/env.ts";

/** The only place the process environment is read. Throws ConfigError naming every bad variable. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return parseEnv(source);
}

export async function loadConfig(source: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const env = loadEnv(source);
  return buildConfig(env, await resolveAuthSecret(env));
}
