import { z } from "zod";

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
  /** How often scheduled deletions are carried out. */
  DELETION_SWEEP_INTERVAL: seconds(60),
  /** How often each instance proves its revocation bus works; an outage shows within two of these. */
  REVOCATION_HEARTBEAT_MS: z.coerce.number().int().min(50).max(60_000).default(250),
  METRICS_ENABLED: flag(true),
  /** Set: /metrics is served on this port (same HOST) instead of the main one, so it can stay private. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
});

export type Env = z.infer<typeof envSchema>;

/**
 * Validates the environment. Empty (or blank) values count as unset, so `PORT=` in an env file means "default".
 * Throws ConfigError naming every bad variable.
 */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const present = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const result = envSchema.safeParse(present);
  const problems = result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  problems.push(...crossFieldProblems(present));
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return result.data;
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
  const refreshTtl = Number(present.REFRESH_TOKEN_TTL ?? 30 * 86_400);
  const maxAge = Number(present.SESSION_MAX_AGE ?? 90 * 86_400);
  if (maxAge < refreshTtl) problems.push("SESSION_MAX_AGE: must be at least REFRESH_TOKEN_TTL");
  if (present.METRICS_PORT !== undefined && Number(present.METRICS_PORT) === Number(present.PORT ?? 3000)) {
    problems.push("METRICS_PORT: must differ from PORT");
  }
  return problems;
}
