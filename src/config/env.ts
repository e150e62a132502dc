import { z } from "zod";
import type { RateLimitRules } from "../abuse/rules.ts";
import { abuseSchema, rateLimitRules, rateLimitVariables, withDerivedRules } from "./env/abuse.ts";
import { accountVariables } from "./env/accounts.ts";
import { adminVariables } from "./env/admin.ts";
import { graphqlVariables } from "./env/graphql.ts";
import { linkProblems, mailTransportProblems, mailVariables } from "./env/mail.ts";
import { machineVariables } from "./env/machine.ts";
import { mfaVariables } from "./env/mfa.ts";
import { oauthSchema, type OAuthProviderConfig, parseOAuthProviders, PROVIDER_VARIABLES } from "./env/oauth.ts";
import { otpVariables } from "./env/otp.ts";
import { outboxVariables } from "./env/outbox.ts";
import { PRODUCTION_METRICS_PORT, serverVariables } from "./env/server.ts";
import { sessionVariables } from "./env/sessions.ts";
import { webauthnProblems, webauthnVariables } from "./env/webauthn.ts";

/** Raised when the environment is invalid; `problems` names every bad variable at once. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const envSchema = z.object({
  ...serverVariables,
  ...sessionVariables,
  ...adminVariables,
  ...mailVariables,
  ...accountVariables,
  ...otpVariables,
  ...mfaVariables,
  ...webauthnVariables,
  ...graphqlVariables,
  ...machineVariables,
  ...outboxVariables,
});

/**
 * Every variable parseEnv reads, with its schema: the configuration reference (docs/configuration.md) is rendered
 * from these by scripts/generate-docs.ts, so each carries a .describe() text.
 */
export const ENV_VARIABLES: Readonly<Record<string, z.ZodType>> = {
  ...envSchema.shape,
  ...abuseSchema.shape,
  ...rateLimitVariables.shape,
  ...oauthSchema.shape,
  ...PROVIDER_VARIABLES,
};

export type Env = z.infer<typeof envSchema> &
  z.infer<typeof abuseSchema> &
  z.infer<typeof oauthSchema> & { rateLimitRules: RateLimitRules; oauthProviders: OAuthProviderConfig[] };

/**
 * Validates the environment. Empty (or blank) values count as unset, so `PORT=` in an env file means "default".
 * Throws ConfigError naming every bad variable.
 */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const results = [envSchema.safeParse(present), abuseSchema.safeParse(present), rateLimitRules.safeParse(present)] as const;
  const problems = results.flatMap((result) =>
    result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
  );
  problems.push(...crossFieldProblems(present));
  const oauth = oauthSchema.safeParse(present);
  if (!oauth.success) problems.push(...oauth.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  const social = parseOAuthProviders(oauth.data?.OAUTH_PROVIDERS ?? [], present, present.NODE_ENV === "production");
  problems.push(...social.problems);
  const [base, abuse, rules] = results;
  if (!base.success || !abuse.success || !rules.success || !oauth.success || problems.length > 0) throw new ConfigError(problems);
  return { ...base.data, ...abuse.data, ...oauth.data, rateLimitRules: withDerivedRules(rules.data, base.data, present), oauthProviders: social.providers };
}

/** Rules that span variables, checked on the raw values so they are reported alongside the schema's problems. */
function crossFieldProblems(present: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const secret = present.AUTH_SECRET;
  if (present.NODE_ENV === "production" && secret === undefined && present.AUTH_SECRET_FILE === undefined) {
    problems.push("AUTH_SECRET: must be set (at least 32 characters), or AUTH_SECRET_FILE, in production");
  } else if (secret !== undefined && secret.length < 32) {
    problems.push("AUTH_SECRET: must be at least 32 characters");
  }
  if (present.NODE_ENV === "production" && present.APP_URL === undefined) {
    problems.push("APP_URL: must be set in production (it is the token issuer and the allowed browser origin)");
  }
  problems.push(...mailTransportProblems(present));
  problems.push(...linkProblems(present));
  problems.push(...webauthnProblems(present));
  const embedded = present.DATABASE_URL === undefined || present.DATABASE_URL.trim() === "memory://";
  const severalWorkers = present.WORKERS?.trim() === "auto" || Number(present.WORKERS ?? 1) > 1;
  if (severalWorkers && embedded) {
    problems.push("WORKERS: the embedded database (PGlite) is single-process; more than one worker needs DATABASE_URL=postgres://...");
  }
  if (severalWorkers && present.RATE_LIMIT_STORE === "memory") {
    problems.push("RATE_LIMIT_STORE: memory counts per process, so each worker would allow the full limit; use postgres or redis");
  }
  if (present.RATE_LIMIT_STORE === "redis" && present.REDIS_URL === undefined) {
    problems.push("RATE_LIMIT_STORE: redis needs REDIS_URL");
  }
  const refreshTtl = Number(present.REFRESH_TOKEN_TTL ?? 30 * 86_400);
  const maxAge = Number(present.SESSION_MAX_AGE ?? 90 * 86_400);
  if (maxAge < refreshTtl) problems.push("SESSION_MAX_AGE: must be at least REFRESH_TOKEN_TTL");
  if (Number(present.HTTP_HEADERS_TIMEOUT ?? 15) > Number(present.HTTP_REQUEST_TIMEOUT ?? 30)) {
    problems.push("HTTP_HEADERS_TIMEOUT: must not exceed HTTP_REQUEST_TIMEOUT (the headers are part of the request)");
  }
  const metricsPort = present.METRICS_PORT ?? (present.NODE_ENV === "production" ? PRODUCTION_METRICS_PORT : undefined);
  if (metricsPort !== undefined && Number(metricsPort) === Number(present.PORT ?? 3000)) {
    problems.push(`METRICS_PORT: must differ from PORT${present.METRICS_PORT === undefined ? ` (unset, it is ${PRODUCTION_METRICS_PORT} in production)` : ""}`);
  }
  return problems;
}
