import { availableParallelism } from "node:os";
import { z } from "zod";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH_FLOOR } from "../auth/password-policy.ts";
import { parseCidr } from "../abuse/blocklist.ts";
import { MAX_CREDENTIALS } from "../otp/sealed-state.ts";
import { DEFAULT_RULES, parseRule, type RateLimitRules, RULE_NAMES, ruleVariable } from "../abuse/rules.ts";

/** Raised when the environment is invalid; `problems` names every bad variable at once. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const seconds = (fallback: number) => z.coerce.number().int().positive().max(10 * 365 * 86_400).default(fallback);

const originList = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const origins: string[] = [];
    for (const item of value.split(",").map((part) => part.trim()).filter(Boolean)) {
      const origin = URL.canParse(item) ? new URL(item).origin : "null";
      if (origin === "null") ctx.addIssue({ code: "custom", message: `"${item}" is not an origin like https://app.example.com` });
      else origins.push(origin);
    }
    return origins;
  });

/** true/false (or 1/0, any case); z.coerce.boolean would read "false" as true. */
const flag = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["true", "false", "1", "0"], { message: "must be true or false" }))
    .transform((value) => value === "true" || value === "1")
    .default(fallback);

const databaseUrl = z
  .string()
  .trim()
  .refine((value) => value === "memory://" || (/^postgres(ql)?:\/\//.test(value) && URL.canParse(value)), {
    message: "must be postgres://user:password@host:port/database or memory://",
  })
  .optional();

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().trim().min(1).default("0.0.0.0"),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: databaseUrl,
  DATA_DIR: z.string().trim().min(1).default("./data"),
  /** Server processes sharing PORT; "auto" is one per CPU. Above 1 needs PostgreSQL (see crossFieldProblems). */
  WORKERS: z
    .union([z.literal("auto"), z.coerce.number().int().min(1).max(256)], { message: 'must be a whole number from 1 to 256, or "auto"' })
    .transform((value) => (value === "auto" ? availableParallelism() : value))
    .default(1),
  /** A PostgreSQL server that does not accept a connection within this long counts as down (503). */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** PostgreSQL's statement_timeout for every query: a stuck database answers 503 instead of holding requests. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** A request not answered within this long answers 503: the last bound on a dependency that neither answers nor fails. */
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /** Seconds a client gets to send its request headers, all of them (Node; Bun has no such deadline). */
  HTTP_HEADERS_TIMEOUT: z.coerce.number().int().min(1).max(255).default(15),
  /** Seconds a client gets to send a whole request (Node); on Bun, the longest silence on a connection (idleTimeout). */
  HTTP_REQUEST_TIMEOUT: z.coerce.number().int().min(1).max(255).default(30),
  AUTH_SECRET: z.string().optional(),
  CORS_ORIGINS: originList,
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  ACCESS_TOKEN_TTL: seconds(900),
  REFRESH_TOKEN_TTL: seconds(30 * 86_400),
  SESSION_MAX_AGE: seconds(90 * 86_400),
  JWT_AUDIENCE: z.string().trim().min(1).default("servauth"),
  /** lastActiveAt is recorded to this resolution, so validating a session never writes per request. */
  SESSION_ACTIVITY_RESOLUTION: seconds(60),
  REFRESH_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(10),
  REDIS_URL: z
    .string()
    .trim()
    .refine((value) => /^rediss?:\/\//.test(value) && URL.canParse(value), { message: "must be redis://host:port or rediss://host:port" })
    .optional(),
  SMTP_URL: z
    .string()
    .trim()
    .refine((value) => /^smtps?:\/\//.test(value) && URL.canParse(value), { message: "must be smtp://user:pass@host:587 or smtps://host:465" })
    .optional(),
  MAIL_FROM: z.string().trim().min(3).default("Servauth <no-reply@localhost>"),
  RESET_TOKEN_TTL: seconds(3600),
  VERIFY_TOKEN_TTL: seconds(86_400),
  REQUIRE_EMAIL_VERIFICATION: flag(false),
  /** Seconds between asking to delete an account and its deletion; 0 deletes at once. */
  ACCOUNT_DELETION_GRACE: z.coerce.number().int().min(0).max(365 * 86_400).default(0),
  /** Audit events older than this many days are deleted (hourly). */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** How often scheduled deletions are carried out. */
  DELETION_SWEEP_INTERVAL: seconds(60),
  /** How often each instance proves its revocation bus works; an outage shows within two of these. */
  REVOCATION_HEARTBEAT_MS: z.coerce.number().int().min(50).max(60_000).default(250),
  METRICS_ENABLED: flag(true),
  /** Set: /metrics is served on this port (same HOST) instead of the main one, so it can stay private. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /** Counted in characters (code points) after NFKC; only raised from OWASP's 8 (15 suits password-only logins). */
  PASSWORD_MIN_LENGTH: z.coerce.number().int().min(PASSWORD_MIN_LENGTH_FLOOR).max(PASSWORD_MAX_LENGTH).default(PASSWORD_MIN_LENGTH_FLOOR),
  /** Also ask Have I Been Pwned (k-anonymity: 5 hex digits of a SHA-1 leave the server); off, nothing leaves it. */
  HIBP_ENABLED: flag(false),
  HIBP_API_URL: z.url({ protocol: /^https?$/ }).default("https://api.pwnedpasswords.com"),
  HIBP_TIMEOUT_MS: z.coerce.number().int().min(100).max(10_000).default(1_500),
  /** One-time codes (issue 5): digits per code, and how long one is valid. */
  OTP_LENGTH: z.coerce.number().int().min(6).max(10).default(6),
  OTP_TTL: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Wrong codes a challenge takes before it is burned. */
  OTP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  /** Seconds before a code may be sent again, and how many times per challenge. */
  OTP_RESEND_DELAY: z.coerce.number().int().min(0).max(3600).default(30),
  OTP_MAX_RESENDS: z.coerce.number().int().min(0).max(20).default(3),
  /**
   * Addresses one challenge may hold (switching between them sends no new code). At most MAX_CREDENTIALS (5): the
   * sealed state travels in a cookie, and five addresses of 255 characters keep it under the 4 KB browsers store.
   */
  OTP_MAX_CREDENTIALS: z.coerce.number().int().min(1).max(MAX_CREDENTIALS).default(3),
  /** true: signing in with a code to an unknown address creates the account (passwordless). */
  OTP_SIGNUP: flag(false),
  /** Age in days at which the key-encryption key that seals challenges is replaced. */
  OTP_KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});

/** RATE_LIMIT_LOGIN_ACCOUNT="10/900" (max per window seconds) or "off", one variable per rule. */
const rateLimitRules = z
  .object(Object.fromEntries(RULE_NAMES.map((name) => [ruleVariable(name), z.string().optional()])))
  .transform((values, ctx) => {
    const rules: RateLimitRules = { ...DEFAULT_RULES };
    for (const name of RULE_NAMES) {
      const raw = values[ruleVariable(name)];
      if (raw === undefined) continue;
      const rule = parseRule(raw);
      if (rule === undefined) ctx.addIssue({ code: "custom", path: [ruleVariable(name)], message: 'must be "max/windowSeconds" (e.g. 10/900) or "off"' });
      else rules[name] = rule;
    }
    return rules;
  });

const abuseSchema = z.object({
  RATE_LIMIT_STORE: z.enum(["auto", "memory", "postgres", "redis"]).default("auto"),
  /** Comma-separated CIDRs (IPv4 and IPv6) answered with 403 before any other work. */
  BLOCKLIST_CIDRS: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const cidrs = value.split(",").map((part) => part.trim()).filter(Boolean);
      for (const cidr of cidrs) if (parseCidr(cidr) === null) ctx.addIssue({ code: "custom", message: `"${cidr}" is not a CIDR like 203.0.113.0/24` });
      return cidrs;
    }),
});

export type Env = z.infer<typeof envSchema> & z.infer<typeof abuseSchema> & { rateLimitRules: RateLimitRules };

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
  const [base, abuse, rules] = results;
  if (!base.success || !abuse.success || !rules.success || problems.length > 0) throw new ConfigError(problems);
  return { ...base.data, ...abuse.data, rateLimitRules: withDerivedRules(rules.data, base.data, present) };
}

/** The spacing of codes to one address follows OTP_RESEND_DELAY unless RATE_LIMIT_OTP_SEND_DELAY says otherwise. */
function withDerivedRules(rules: RateLimitRules, base: z.infer<typeof envSchema>, present: Record<string, string | undefined>): RateLimitRules {
  if (present[ruleVariable("otpSendDelay")] !== undefined) return rules;
  return { ...rules, otpSendDelay: base.OTP_RESEND_DELAY > 0 ? { max: 1, windowSeconds: base.OTP_RESEND_DELAY } : null };
}

/** Rules that span variables, checked on the raw values so they are reported alongside the schema's problems. */
function crossFieldProblems(present: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const secret = present.AUTH_SECRET;
  if (present.NODE_ENV === "production" && secret === undefined) {
    problems.push("AUTH_SECRET: must be set (at least 32 characters) in production");
  } else if (secret !== undefined && secret.length < 32) {
    problems.push("AUTH_SECRET: must be at least 32 characters");
  }
  if (present.NODE_ENV === "production" && present.APP_URL === undefined) {
    problems.push("APP_URL: must be set in production (it is the token issuer and the allowed browser origin)");
  }
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
  if (present.METRICS_PORT !== undefined && Number(present.METRICS_PORT) === Number(present.PORT ?? 3000)) {
    problems.push("METRICS_PORT: must differ from PORT");
  }
  return problems;
}
