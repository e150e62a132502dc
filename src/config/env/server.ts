import { availableParallelism } from "node:os";
import { z } from "zod";
import { databaseUrl, flag, originList } from "./fields.ts";

/** Where /metrics is served in production when METRICS_PORT is unset (the Prometheus exporters' usual port). */
export const PRODUCTION_METRICS_PORT = 9464;

/** The server process: listener, database, secrets, browsers, logs, several instances, metrics. */
export const serverVariables = {
  NODE_ENV: z
    .enum(["development", "production", "test"])
    .default("development")
    .describe("production requires AUTH_SECRET and APP_URL and makes cookies Secure with __Host-/__Secure- names; development prints pretty logs on a terminal."),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000).describe("TCP port of the HTTP listener (0: any free port)."),
  HOST: z.string().trim().min(1).default("0.0.0.0").describe("Interface to listen on; 127.0.0.1 keeps the server off the network."),
  APP_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "Public base URL (trailing / removed), default http://localhost:$PORT. It is the JWT issuer, the base of links in mail, and its origin is always allowed for CORS and CSRF. Required in production: set it to the https:// URL clients use.",
    ),
  DATABASE_URL: databaseUrl.describe(
    "postgres://user:password@host:port/database for a PostgreSQL server (the database must exist), or memory:// for a throw-away in-memory database. Unset: embedded PostgreSQL (PGlite) under $DATA_DIR/pgdata.",
  ),
  DATA_DIR: z
    .string()
    .trim()
    .min(1)
    .default("./data")
    .describe("Directory of the embedded database (pgdata/) and of the development auth-secret file."),
  EMBEDDED_DATABASE_THREAD: z
    .enum(["worker", "main"])
    .default("worker")
    .describe(
      "Where the embedded database (PGlite) runs. worker: a thread of its own, so that its queries and its file writes on commit do not hold up other requests; main: the server's own thread, as before (for comparison). Not used with a postgres:// DATABASE_URL.",
    ),
  /** Above 1 needs PostgreSQL (see crossFieldProblems). */
  WORKERS: z
    .union([z.literal("auto"), z.coerce.number().int().min(1).max(256)], { message: 'must be a whole number from 1 to 256, or "auto"' })
    .transform((value) => (value === "auto" ? availableParallelism() : value))
    .default(1)
    .describe(
      'Server processes sharing PORT (a number, or "auto": one per CPU). Above 1 needs DATABASE_URL=postgres://... and a shared RATE_LIMIT_STORE; see docs/deployment.md.',
    ),
  DATABASE_CONNECT_TIMEOUT_MS: z
    .coerce.number()
    .int()
    .min(100)
    .max(60_000)
    .default(5_000)
    .describe("Milliseconds to wait for a PostgreSQL connection; past it the database counts as down and the request answers 503 DEPENDENCY_UNAVAILABLE with Retry-After."),
  DATABASE_STATEMENT_TIMEOUT_MS: z
    .coerce.number()
    .int()
    .min(100)
    .max(600_000)
    .default(10_000)
    .describe("PostgreSQL's statement_timeout for every query, in milliseconds: a stuck query answers 503 instead of holding the request (waiting for the migration lock is exempt)."),
  REQUEST_DEADLINE_MS: z
    .coerce.number()
    .int()
    .min(100)
    .max(600_000)
    .default(20_000)
    .describe(
      "A request not answered within this many milliseconds answers 503 DEPENDENCY_UNAVAILABLE with Retry-After (its handler is not stopped; its result is dropped). The last bound on a dependency that neither answers nor fails: keep it above the database timeouts.",
    ),
  HTTP_HEADERS_TIMEOUT: z
    .coerce.number()
    .int()
    .min(1)
    .max(255)
    .default(15)
    .describe(
      "Seconds a client gets to send all its request headers (slowloris), then 408. Node only: Bun drops a connection that has not sent its first headers after a fixed 10-12 s, so values below about 12 are not honoured there.",
    ),
  HTTP_REQUEST_TIMEOUT: z
    .coerce.number()
    .int()
    .min(1)
    .max(255)
    .default(30)
    .describe("Node: seconds a client gets to send its whole request. Bun: the idle timeout of a connection (4 s steps). At least HTTP_HEADERS_TIMEOUT."),
  AUTH_SECRET: z
    .string()
    .optional()
    .describe(
      "At least 32 characters (openssl rand -base64 32). Better-Auth's secret, and (HKDF, AES-256-GCM) the key that seals the signing keys stored in the database: changing it makes them unreadable. Required in production unless AUTH_SECRET_FILE is set; unset in development, one is generated into $DATA_DIR/auth-secret (throw-away with memory://).",
    ),
  AUTH_SECRET_FILE: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe(
      "Where AUTH_SECRET is kept when AUTH_SECRET itself is unset: read from this file, or generated (32 random bytes, " +
        "mode 0600) and written there on first start. Default: unset (production then needs AUTH_SECRET). Instances " +
        "sharing a database need the same secret: point them at one shared file, or set AUTH_SECRET.",
    ),
  CORS_ORIGINS: originList.describe(
    "Comma-separated origins (https://app.example.com) allowed for CORS and CSRF besides APP_URL's origin. A path is reduced to its origin; an entry with no origin is an error.",
  ),
  TRUST_PROXY: z
    .coerce.number()
    .int()
    .min(0)
    .max(10)
    .default(0)
    .describe(
      "Reverse proxies in front whose X-Forwarded-For to trust. 0: the client IP is the socket address and X-Forwarded-For is ignored; N: the N-th address from the right. It keys rate limits and audit rows.",
    ),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino level of the JSON log lines on stdout; warn silences the per-request lines."),
  REDIS_URL: z
    .string()
    .trim()
    .refine((value) => /^rediss?:\/\//.test(value) && URL.canParse(value), { message: "must be redis://host:port or rediss://host:port" })
    .optional()
    .describe(
      "redis:// or rediss:// URL. Set: revocations travel over Redis pub/sub, one-time-code ids and (RATE_LIMIT_STORE=auto) rate-limit counters live there. Unset: PostgreSQL LISTEN/NOTIFY, or in-process on the embedded database.",
    ),
  REVOCATION_HEARTBEAT_MS: z
    .coerce.number()
    .int()
    .min(50)
    .max(60_000)
    .default(250)
    .describe("How often (ms) each instance proves its revocation bus delivers; an outage shows within two, and the instance then checks every request against the database."),
  METRICS_ENABLED: flag(true).describe("false: no /metrics anywhere (404) and no per-request metrics work."),
  METRICS_PORT: z
    .coerce.number()
    .int()
    .min(1)
    .max(65_535)
    .optional()
    .describe(
      "Set: /metrics is served only by a second listener on this port (same HOST), so it can stay private; the main port answers it 404. Must differ from PORT. Unset: 9464 in production (its counters would tell anyone which addresses have accounts, so they are never on the public port by default), the main port otherwise.",
    ),
};
