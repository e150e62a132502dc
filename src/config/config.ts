import path from "node:path";
import type { RateLimitRules } from "../abuse/rules.ts";
import type { Env } from "./env.ts";

export type DatabaseConfig =
  /** Timeouts bound how long a request can wait on an unreachable or stuck server before it answers 503. */
  | { kind: "postgres"; url: string; connectTimeoutMs: number; statementTimeoutMs: number }
  /** Embedded PostgreSQL; `dataDir` null means in memory. */
  | { kind: "pglite"; dataDir: string | null };

export type AppConfig = {
  environment: Env["NODE_ENV"];
  isProduction: boolean;
  host: string;
  port: number;
  /** Server processes sharing the port (1: this process serves). */
  workers: number;
  /** How long a client may take to send its request headers, and its whole request (seconds). */
  http: { headersTimeoutSeconds: number; requestTimeoutSeconds: number };
  /** Milliseconds after which an unanswered request answers 503. */
  requestDeadlineMs: number;
  /** Public base URL without a trailing slash; the JWT issuer and the base of links in mail. */
  appUrl: string;
  database: DatabaseConfig;
  dataDir: string;
  authSecret: string;
  /** Origins allowed for CORS and CSRF: APP_URL's origin plus CORS_ORIGINS. */
  allowedOrigins: ReadonlySet<string>;
  trustProxy: number;
  logLevel: Env["LOG_LEVEL"];
  tokens: {
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    sessionMaxAgeSeconds: number;
    graceSeconds: number;
    maxSessionsPerUser: number;
    activityResolutionSeconds: number;
  };
  mail: { smtpUrl: string | null; from: string };
  account: {
    resetTokenTtlSeconds: number;
    verifyTokenTtlSeconds: number;
    requireEmailVerification: boolean;
    deletionGraceSeconds: number;
    deletionSweepIntervalSeconds: number;
  };
  auditRetentionDays: number;
  abuse: {
    rules: RateLimitRules;
    /** Where counters live: one process (memory), or shared by instances (postgres, redis). */
    store: "memory" | "postgres" | "redis";
    blocklistCidrs: string[];
  };
  /** Unset: revocations travel over PostgreSQL (or stay in-process on the embedded database). */
  redisUrl: string | null;
  revocationHeartbeatMs: number;
  cookies: {
    secure: boolean;
    sessionName: string;
    refreshName: string;
    /** The refresh cookie is only sent where it is used. */
    refreshPath: string;
  };
  maxBodyBytes: number;
  /** `port` null: /metrics is on the main listener (when enabled). */
  metrics: { enabled: boolean; port: number | null };
  /** `hibp` null: only the offline list is consulted. */
  passwords: { minLength: number; hibp: { apiUrl: string; timeoutMs: number } | null };
  otp: OtpConfig;
};

export type OtpConfig = {
  length: number;
  ttlSeconds: number;
  maxAttempts: number;
  resendDelaySeconds: number;
  maxResends: number;
  maxCredentials: number;
  signUp: boolean;
  keyRotationDays: number;
  /** HttpOnly, SameSite=Strict, Path=/; __Host- prefixed (and Secure) in production. */
  cookieName: string;
};

/** Derives the application configuration from a validated environment; no I/O. */
export function buildConfig(env: Env, authSecret: string): AppConfig {
  const isProduction = env.NODE_ENV === "production";
  const appUrl = (env.APP_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, "");
  const dataDir = path.resolve(env.DATA_DIR);
  return {
    environment: env.NODE_ENV,
    isProduction,
    host: env.HOST,
    port: env.PORT,
    workers: env.WORKERS,
    http: { headersTimeoutSeconds: env.HTTP_HEADERS_TIMEOUT, requestTimeoutSeconds: env.HTTP_REQUEST_TIMEOUT },
    requestDeadlineMs: env.REQUEST_DEADLINE_MS,
    appUrl,
    database: resolveDatabase(env, dataDir),
    dataDir,
    authSecret,
    allowedOrigins: new Set([new URL(appUrl).origin, ...env.CORS_ORIGINS]),
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    tokens: {
      issuer: appUrl,
      audience: env.JWT_AUDIENCE,
      accessTtlSeconds: env.ACCESS_TOKEN_TTL,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL,
      sessionMaxAgeSeconds: env.SESSION_MAX_AGE,
      graceSeconds: env.REFRESH_GRACE_SECONDS,
      maxSessionsPerUser: env.MAX_SESSIONS_PER_USER,
      activityResolutionSeconds: env.SESSION_ACTIVITY_RESOLUTION,
    },
    mail: { smtpUrl: env.SMTP_URL ?? null, from: env.MAIL_FROM },
    account: {
      resetTokenTtlSeconds: env.RESET_TOKEN_TTL,
      verifyTokenTtlSeconds: env.VERIFY_TOKEN_TTL,
      requireEmailVerification: env.REQUIRE_EMAIL_VERIFICATION,
      deletionGraceSeconds: env.ACCOUNT_DELETION_GRACE,
      deletionSweepIntervalSeconds: env.DELETION_SWEEP_INTERVAL,
    },
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    abuse: { rules: env.rateLimitRules, store: rateLimitStore(env), blocklistCidrs: env.BLOCKLIST_CIDRS },
    redisUrl: env.REDIS_URL ?? null,
    revocationHeartbeatMs: env.REVOCATION_HEARTBEAT_MS,
    cookies: {
      // Production runs behind a TLS-terminating proxy, so cookies are Secure there even on a plain-http listener.
      secure: isProduction,
      sessionName: isProduction ? "__Host-servauth.session" : "servauth.session",
      refreshName: isProduction ? "__Secure-servauth.refresh" : "servauth.refresh",
      refreshPath: "/auth",
    },
    maxBodyBytes: 64 * 1024,
    metrics: { enabled: env.METRICS_ENABLED, port: env.METRICS_ENABLED ? (env.METRICS_PORT ?? null) : null },
    passwords: {
      minLength: env.PASSWORD_MIN_LENGTH,
      hibp: env.HIBP_ENABLED ? { apiUrl: env.HIBP_API_URL, timeoutMs: env.HIBP_TIMEOUT_MS } : null,
    },
    otp: {
      length: env.OTP_LENGTH,
      ttlSeconds: env.OTP_TTL,
      maxAttempts: env.OTP_MAX_ATTEMPTS,
      resendDelaySeconds: env.OTP_RESEND_DELAY,
      maxResends: env.OTP_MAX_RESENDS,
      maxCredentials: env.OTP_MAX_CREDENTIALS,
      signUp: env.OTP_SIGNUP,
      keyRotationDays: env.OTP_KEY_ROTATION_DAYS,
      cookieName: isProduction ? "__Host-servauth.otp" : "servauth.otp",
    },
  };
}

/** auto: Redis when configured, else the PostgreSQL server, else (embedded, one process) memory. */
function rateLimitStore(env: Env): AppConfig["abuse"]["store"] {
  if (env.RATE_LIMIT_STORE !== "auto") return env.RATE_LIMIT_STORE;
  if (env.REDIS_URL !== undefined) return "redis";
  return env.DATABASE_URL !== undefined && env.DATABASE_URL !== "memory://" ? "postgres" : "memory";
}

function resolveDatabase(env: Env, dataDir: string): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (url === undefined) return { kind: "pglite", dataDir: path.join(dataDir, "pgdata") };
  if (url === "memory://") return { kind: "pglite", dataDir: null };
  return { kind: "postgres", url, connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS };
}

/** The database URL with its password replaced, for logs and start-up output. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.kind === "pglite") return database.dataDir === null ? "embedded (in memory)" : `embedded (${database.dataDir})`;
  const url = new URL(database.url);
  if (url.password) url.password = "***";
  return `postgres (${url.toString()})`;
}
