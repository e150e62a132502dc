import path from "node:path";
import { buildConfig, describeDatabase } from "../config/config.ts";
import type { Env } from "../config/env.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { loadEnv } from "./load-config.ts";
import { createLogger } from "../observability/logger.ts";
import { createProviderRegistry } from "../oauth/providers.ts";

/** Keys whose values are never shown, wherever they appear in the configuration (authSecret, smtpPassword, ...). */
const SECRET_KEY = /(secret|password|apikey|privatekey|token)$/i;

export const configCheckCommand: Command = {
  name: "config check",
  summary: "validate the environment and print the effective configuration, secrets redacted",
  help: `usage: servauth config check [--json]

Validates the environment as \`servauth serve\` would and prints the configuration the server would run with,
defaults and derived values included. AUTH_SECRET is never printed, nor a password inside DATABASE_URL,
REDIS_URL or SMTP_URL. Nothing is written and no database is contacted; each OpenID Connect provider of
OAUTH_PROVIDERS is asked for its discovery document (within OAUTH_HTTP_TIMEOUT_MS), and one that does not answer
is reported as unavailable (the server would start, and retry it). Exit code 1 names every bad variable.

  --json    one JSON object instead of aligned lines
`,
  async run(args) {
    const { values } = parseCommandArgs(args, { json: { type: "boolean" } });
    const env = loadEnv();
    // The secret itself is not needed to derive the rest, and resolving it would write a file into DATA_DIR.
    const { database, authSecret: _unused, oauth, ...rest } = buildConfig(env, "");
    const shown: Record<string, Shown> = { database: describeDatabase(database), authSecret: describeAuthSecret(env) };
    flatten(rest, "", shown);
    const { providers, ...social } = oauth;
    flatten({ oauth: { ...social, providers: Object.fromEntries(providers.map((provider) => [provider.id, provider])) } }, "", shown);
    const discovery = await createProviderRegistry(oauth, createLogger({ level: "silent" })).check();
    for (const [id, status] of Object.entries(discovery)) shown[`oauth.providers.${id}.discovery`] = status;
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(shown)}\n`);
      return;
    }
    const width = Math.max(...Object.keys(shown).map((key) => key.length));
    process.stdout.write(`configuration is valid (NODE_ENV=${env.NODE_ENV})\n`);
    for (const [key, value] of Object.entries(shown)) process.stdout.write(`  ${key.padEnd(width)}  ${value ?? "(none)"}\n`);
  },
};

function describeAuthSecret(env: Env): string {
  if (env.AUTH_SECRET !== undefined) return "[redacted] (from AUTH_SECRET)";
  if (env.AUTH_SECRET_FILE !== undefined) return `[redacted] (kept in ${path.resolve(env.AUTH_SECRET_FILE)}, generated there if absent)`;
  if (env.DATABASE_URL === "memory://") return "(none set: a random one per process, as the database is in memory)";
  return `(none set: generated on first start and kept in ${path.join(path.resolve(env.DATA_DIR), "auth-secret")})`;
}

type Shown = string | number | boolean | null;

/** Nested configuration as "a.b" keys; secrets and URL passwords redacted, sets and lists comma-joined. */
function flatten(value: unknown, key: string, into: Record<string, Shown>): void {
  if (key !== "" && SECRET_KEY.test(key.split(".").at(-1) ?? "")) {
    into[key] = "[redacted]";
  } else if (value instanceof Set || Array.isArray(value)) {
    const items = [...value].map((item) => redactUrl(String(item)));
    into[key] = items.length === 0 ? null : items.join(", ");
  } else if (value !== null && typeof value === "object") {
    for (const [child, inner] of Object.entries(value)) flatten(inner, key === "" ? child : `${key}.${child}`, into);
  } else if (typeof value === "string") {
    into[key] = redactUrl(value);
  } else {
    into[key] = typeof value === "number" || typeof value === "boolean" ? value : null;
  }
}

/** A URL with credentials (postgres://, redis://, smtp://) keeps its user but not its password. */
function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !URL.canParse(value)) return value;
  const url = new URL(value);
  if (url.password === "") return value;
  url.password = "***";
  return url.toString();
}
