import path from "node:path";
import type { RateLimitRules } from "../abuse/rules.ts";
import { appOrigins } from "./app-origins.ts";
import type { Env } from "./env.ts";
import type { OAuthConfig } from "./env/oauth.ts";
import { PRODUCTION_METRICS_PORT } from "./env/server.ts";

export type DatabaseConfig =
  /** Timeouts bound how long a request can wait on an unreachable or stuck server before it answers 503. */
  | { kind: "postgres"; url: string; connectTimeoutMs: number; statementTimeoutMs: number }
  /** Embedded PostgreSQL; `dataDir` null means in memory; `thread`: in a worker thread, or on the caller's. */
  | { kind: "pglite"; dataDir: string | null; thread: "worker" | "main" };

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
  /** Where the links in mail point: URLs with "{token}" where the token goes. */
  links: Record<EmailLink, string>;
  database: DatabaseConfig;
  dataDir: string;
  authSecret: string;
  /** Origins allowed for CORS and CSRF: APP_URL's origin (each loopback name of it, if loopback) plus CORS_ORIGINS. */
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
  /** `log`: each mail, secrets included, goes to the log (development, or MAIL_TRANSPORT=log: see parseEnv). */
  mail: ({ transport: "smtp"; smtpUrl: string } | { transport: "log" }) & { from: string };
  account: {
    resetTokenTtlSeconds: number;
    verifyTokenTtlSeconds: number;
    requireEmailVerification: boolean;
    deletionGraceSeconds: number;
    deletionSweepIntervalSeconds: number;
    /** Sensitive actions need an authentication at most this old (step-up). */
    stepUpMaxAgeSeconds: number;
  };
  auditRetentionDays: number;
  outbox: {
    retentionDays: number;
    pollMs: number;
    leaseMs: number;
    /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: endpoints on internal addresses (and plain http in production) allowed. */
    allowPrivateNetworks: boolean;
  };
  admin: {
    /** Lifetime of an impersonation session; refreshing does not extend it. */
    impersonationTtlSeconds: number;
    /** Whether a user's own audit trail names the administrator behind admin.* events. */
    auditShowsAdmin: boolean;
    /** ADMIN_MFA_REQUIRED: an administrator with a second factor must use a session that proved it. */
    secondFactorRequired: boolean;
  };
  /** Personal API keys and OAuth 2.0 machine clients. */
  machine: { apiKeysPerUser: number; apiKeyMaxTtlSeconds: number; tokenTtlSeconds: number };
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
  mfa: MfaConfig;
  /** Social login (src/oauth/). */
  oauth: OAuthConfig;
  webauthn: WebAuthnConfig;
  graphql: GraphqlConfig;
};

/** The GraphQL API (src/graphql/, docs/graphql.md). */
export type GraphqlConfig = {
  enabled: boolean;
  introspection: boolean;
  /** GraphiQL at GET /graphql for browsers: development only. */
  graphiql: boolean;
  persistedOnly: boolean;
  persistedOperationsFile: string | null;
  limits: { maxDepth: number; maxAliases: number; maxCost: number; maxTokens: number; maxDirectives: number };
};

/** Passkeys: what every ceremony is checked against (the RP ID and the origins pages may call from). */
export type WebAuthnConfig = { rpId: string; rpName: string; origins: string[]; strictCounter: boolean };

export type MfaConfig = { policy: "optional" | "required"; issuer: string };

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

export type EmailLink = "verifyEmail" | "resetPassword" | "cancelDeletion";

/** The paths of the pages Servauth serves for the links in mail (src/http/pages/), and of an app's own by default. */
export const EMAIL_LINK_PATHS: Readonly<Record<EmailLink, string>> = {
  verifyEmail: "/verify-email",
  resetPassword: "/reset-password",
  cancelDeletion: "/cancel-deletion",
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
    links: resolveLinks(env, appUrl),
    database: resolveDatabase(env, dataDir),
    dataDir,
    authSecret,
    allowedOrigins: new Set([...appOrigins(appUrl), ...env.CORS_ORIGINS]),
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
    // parseEnv refused MAIL_TRANSPORT values that disagree with SMTP_URL, so SMTP_URL alone decides.
    mail: { from: env.MAIL_FROM, ...(env.SMTP_URL === undefined ? { transport: "log" as const } : { transport: "smtp" as const, smtpUrl: env.SMTP_URL }) },
    account: {
      resetTokenTtlSeconds: env.RESET_TOKEN_TTL,
      verifyTokenTtlSeconds: env.VERIFY_TOKEN_TTL,
      requireEmailVerification: env.REQUIRE_EMAIL_VERIFICATION,
      deletionGraceSeconds: env.ACCOUNT_DELETION_GRACE,
      deletionSweepIntervalSeconds: env.DELETION_SWEEP_INTERVAL,
      stepUpMaxAgeSeconds: env.STEP_UP_MAX_AGE,
    },
    auditRetentionDays: env.AUDIT_RETENTION_DAYS,
    outbox: {
      retentionDays: env.OUTBOX_RETENTION_DAYS,
      pollMs: env.OUTBOX_POLL_SECONDS * 1000,
      leaseMs: env.OUTBOX_LEASE_SECONDS * 1000,
      allowPrivateNetworks: env.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    },
    admin: { impersonationTtlSeconds: env.IMPERSONATION_TTL, auditShowsAdmin: env.AUDIT_SHOW_ADMIN, secondFactorRequired: env.ADMIN_MFA_REQUIRED },
    machine: { apiKeysPerUser: env.API_KEYS_PER_USER, apiKeyMaxTtlSeconds: env.API_KEY_MAX_TTL, tokenTtlSeconds: env.MACHINE_TOKEN_TTL },
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
    metrics: { enabled: env.METRICS_ENABLED, port: env.METRICS_ENABLED ? (env.METRICS_PORT ?? (isProduction ? PRODUCTION_METRICS_PORT : null)) : null },
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
    mfa: { policy: env.MFA_POLICY, issuer: env.MFA_ISSUER },
    oauth: {
      providers: env.oauthProviders,
      redirectAllowlist: env.OAUTH_REDIRECT_ALLOWLIST,
      autoLinkVerified: env.OAUTH_AUTO_LINK_VERIFIED,
      httpTimeoutMs: env.OAUTH_HTTP_TIMEOUT_MS,
      flowTtlSeconds: 600,
      exchangeCodeTtlSeconds: 60,
    },
    webauthn: {
      rpId: env.WEBAUTHN_RP_ID ?? new URL(appUrl).hostname,
      rpName: env.WEBAUTHN_RP_NAME,
      origins: env.WEBAUTHN_ORIGINS.length > 0 ? env.WEBAUTHN_ORIGINS : [...new Set([...appOrigins(appUrl), ...env.CORS_ORIGINS])],
      strictCounter: env.WEBAUTHN_STRICT_COUNTER,
    },
    graphql: {
      enabled: env.GRAPHQL_ENABLED,
      introspection: env.GRAPHQL_INTROSPECTION ?? !isProduction,
      graphiql: env.NODE_ENV === "development",
      persistedOnly: env.GRAPHQL_PERSISTED_ONLY,
      persistedOperationsFile: env.GRAPHQL_PERSISTED_OPERATIONS_FILE ?? null,
      limits: {
        maxDepth: env.GRAPHQL_MAX_DEPTH,
        maxAliases: env.GRAPHQL_MAX_ALIASES,
        maxCost: env.GRAPHQL_MAX_COST,
        maxTokens: env.GRAPHQL_MAX_TOKENS,
        maxDirectives: env.GRAPHQL_MAX_DIRECTIVES,
      },
    },
  };
}

/** auto: Redis when configured, else the PostgreSQL server, else (embedded, one process) memory. */
function rateLimitStore(env: Env): AppConfig["abuse"]["store"] {
  if (env.RATE_LIMIT_STORE !== "auto") return env.RATE_LIMIT_STORE;
  if (env.REDIS_URL !== undefined) return "redis";
  return env.DATABASE_URL !== undefined && env.DATABASE_URL !== "memory://" ? "postgres" : "memory";
}

/** Each link: its own template if set, else its path under PUBLIC_UI_URL, else under APP_URL (Servauth's own page). */
function resolveLinks(env: Env, appUrl: string): Record<EmailLink, string> {
  const base = (env.PUBLIC_UI_URL ?? appUrl).replace(/\/+$/, "");
  const under = (link: EmailLink) => `${base}${EMAIL_LINK_PATHS[link]}?token={token}`;
  return {
    verifyEmail: env.VERIFY_EMAIL_UI_URL ?? under("verifyEmail"),
    resetPassword: env.RESET_PASSWORD_UI_URL ?? under("resetPassword"),
    cancelDeletion: env.CANCEL_DELETION_UI_URL ?? under("cancelDeletion"),
  };
}

function resolveDatabase(env: Env, dataDir: string): DatabaseConfig {
  const url = env.DATABASE_URL;
  const thread = env.EMBEDDED_DATABASE_THREAD;
  if (url === undefined) return { kind: "pglite", dataDir: path.join(dataDir, "pgdata"), thread };
  if (url === "memory://") return { kind: "pglite", dataDir: null, thread };
  return { kind: "postgres", url, connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS };
}

/** The database URL with its password replaced, for logs and start-up output. */
export function describeDatabase(database: DatabaseConfig): string {
  if (database.kind === "pglite") return database.dataDir === null ? "embedded (in memory)" : `embedded (${database.dataDir})`;
  const url = new URL(database.url);
  if (url.password) url.password = "***";
  return `postgres (${url.toString()})`;
}
