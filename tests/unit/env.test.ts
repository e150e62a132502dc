import { availableParallelism } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, describeDatabase } from "../../src/config/config.ts";
import { DEFAULT_RULES } from "../../src/abuse/rules.ts";
import { ConfigError, parseEnv } from "../../src/config/env.ts";

const SECRET = "0123456789abcdef0123456789abcdef"; // exactly 32 characters
/** Production refuses to start without a way to send mail (see MAIL_TRANSPORT below). */
const MAIL = { SMTP_URL: "smtp://mail.example.com:587" };
const TIMEOUTS = { connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 };

/** The ConfigError parseEnv throws for `source`; fails the test if it does not throw one. */
function configErrorOf(source: Record<string, string | undefined>): ConfigError {
  try {
    parseEnv(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`parseEnv accepted ${JSON.stringify(source)}`);
}

/** The variable names a ConfigError's problems mention (the text before the first colon). */
function problemVariables(error: ConfigError): string[] {
  return error.problems.map((problem) => problem.split(":")[0] ?? "").sort();
}

describe("parseEnv defaults", () => {
  it("treats blank values as unset rather than as zero", () => {
    const env = parseEnv({ PORT: "  ", TRUST_PROXY: " ", HOST: "" });
    expect(env.PORT).toBe(3000);
    expect(env.TRUST_PROXY).toBe(0);
    expect(env.HOST).toBe("0.0.0.0");
  });

  it("fills every default from an empty environment", () => {
    expect(parseEnv({})).toEqual({
      NODE_ENV: "development",
      PORT: 3000,
      HOST: "0.0.0.0",
      DATA_DIR: "./data",
      EMBEDDED_DATABASE_THREAD: "worker",
      WORKERS: 1,
      DATABASE_CONNECT_TIMEOUT_MS: 5_000,
      DATABASE_STATEMENT_TIMEOUT_MS: 10_000,
      REQUEST_DEADLINE_MS: 20_000,
      HTTP_HEADERS_TIMEOUT: 15,
      HTTP_REQUEST_TIMEOUT: 30,
      CORS_ORIGINS: [],
      TRUST_PROXY: 0,
      LOG_LEVEL: "info",
      ACCESS_TOKEN_TTL: 900,
      REFRESH_TOKEN_TTL: 30 * 86_400,
      SESSION_MAX_AGE: 90 * 86_400,
      STEP_UP_MAX_AGE: 300,
      JWT_AUDIENCE: "servauth",
      SESSION_ACTIVITY_RESOLUTION: 60,
      REFRESH_GRACE_SECONDS: 30,
      MAX_SESSIONS_PER_USER: 10,
      REVOCATION_HEARTBEAT_MS: 250,
      METRICS_ENABLED: true,
      PASSWORD_MIN_LENGTH: 8,
      HIBP_ENABLED: false,
      HIBP_API_URL: "https://api.pwnedpasswords.com",
      HIBP_TIMEOUT_MS: 1_500,
      MAIL_FROM: "Servauth <no-reply@localhost>",
      RESET_TOKEN_TTL: 3600,
      VERIFY_TOKEN_TTL: 86_400,
      REQUIRE_EMAIL_VERIFICATION: false,
      ACCOUNT_DELETION_GRACE: 0,
      DELETION_SWEEP_INTERVAL: 60,
      AUDIT_RETENTION_DAYS: 90,
      IMPERSONATION_TTL: 1800,
      ADMIN_MFA_REQUIRED: true,
      AUDIT_SHOW_ADMIN: false,
      WEBAUTHN_RP_NAME: "Servauth",
      WEBAUTHN_ORIGINS: [],
      WEBAUTHN_STRICT_COUNTER: true,
      GRAPHQL_ENABLED: true,
      GRAPHQL_PERSISTED_ONLY: false,
      GRAPHQL_MAX_DEPTH: 10,
      GRAPHQL_MAX_ALIASES: 15,
      GRAPHQL_MAX_COST: 5000,
      GRAPHQL_MAX_TOKENS: 1000,
      GRAPHQL_MAX_DIRECTIVES: 10,
      API_KEYS_PER_USER: 25,
      API_KEY_MAX_TTL: 365 * 86_400,
      MACHINE_TOKEN_TTL: 600,
      RATE_LIMIT_STORE: "auto",
      BLOCKLIST_CIDRS: [],
      OTP_LENGTH: 6,
      OTP_TTL: 300,
      OUTBOX_LEASE_SECONDS: 60,
      OUTBOX_POLL_SECONDS: 30,
      OUTBOX_RETENTION_DAYS: 7,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: false,
      OTP_MAX_ATTEMPTS: 5,
      OTP_RESEND_DELAY: 30,
      OTP_MAX_RESENDS: 3,
      OTP_MAX_CREDENTIALS: 3,
      OTP_SIGNUP: false,
      OTP_KEY_ROTATION_DAYS: 30,
      MFA_POLICY: "optional",
      MFA_ISSUER: "Servauth",
      rateLimitRules: DEFAULT_RULES,
      OAUTH_PROVIDERS: [],
      OAUTH_REDIRECT_ALLOWLIST: [],
      OAUTH_AUTO_LINK_VERIFIED: false,
      OAUTH_HTTP_TIMEOUT_MS: 5_000,
      oauthProviders: [],
    });
  });

  it("leaves optional variables unset", () => {
    const env = parseEnv({});
    expect(env.APP_URL).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.AUTH_SECRET).toBeUndefined();
  });

  it("treats empty strings (and undefined) as unset", () => {
    const env = parseEnv({
      PORT: "",
      HOST: "",
      NODE_ENV: "",
      DATABASE_URL: "",
      AUTH_SECRET: "",
      APP_URL: "",
      CORS_ORIGINS: "",
      TRUST_PROXY: "",
      LOG_LEVEL: "",
      ACCESS_TOKEN_TTL: undefined,
    });
    expect(env).toEqual(parseEnv({}));
  });

  it("ignores variables it does not know", () => {
    expect(parseEnv({ PATH: "/usr/bin", HOME: "/root" })).toEqual(parseEnv({}));
  });

  it("coerces numbers", () => {
    const env = parseEnv({ PORT: "8080", TRUST_PROXY: "2", ACCESS_TOKEN_TTL: "60", REFRESH_TOKEN_TTL: "3600", SESSION_MAX_AGE: "7200" });
    expect(env.PORT).toBe(8080);
    expect(env.TRUST_PROXY).toBe(2);
    expect(env.ACCESS_TOKEN_TTL).toBe(60);
    expect(env.REFRESH_TOKEN_TTL).toBe(3600);
    expect(env.SESSION_MAX_AGE).toBe(7200);
  });
});

describe("parseEnv rejects bad values, naming the variable", () => {
  it.each([
    ["PORT", "abc"],
    ["PORT", "3000x"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["TRUST_PROXY", "yes"],
    ["TRUST_PROXY", "11"],
    ["TRUST_PROXY", "-1"],
    ["NODE_ENV", "staging"],
    ["LOG_LEVEL", "verbose"],
    ["ACCESS_TOKEN_TTL", "0"],
    ["ACCESS_TOKEN_TTL", "15m"],
    ["APP_URL", "not a url"],
    ["APP_URL", "ftp://example.com"],
  ])("%s=%s", (name, value) => {
    const error = configErrorOf({ [name]: value });
    expect(problemVariables(error)).toContain(name);
    expect(error.message).toContain(name);
  });

  it("throws a ConfigError whose name is ConfigError", () => {
    const error = configErrorOf({ PORT: "abc" });
    expect(error.name).toBe("ConfigError");
    expect(error).toBeInstanceOf(Error);
  });
});

describe("DATABASE_URL", () => {
  it.each(["mysql://user:pass@localhost:3306/app", "garbage", "postgres:/missing-slash", "http://localhost:5432/db", "sqlite://file.db", "memory:"])(
    "rejects %s",
    (url) => {
      expect(problemVariables(configErrorOf({ DATABASE_URL: url }))).toEqual(["DATABASE_URL"]);
    },
  );

  it.each(["postgres://user:pass@localhost:5432/app", "postgresql://user:pass@db.internal:6543/app?sslmode=require", "memory://"])(
    "accepts %s",
    (url) => {
      expect(parseEnv({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    },
  );

  it("never echoes the rejected value (it may hold a password)", () => {
    const error = configErrorOf({ DATABASE_URL: "mysql://admin:hunter2-very-secret@db:3306/app" });
    expect(error.message).not.toContain("hunter2");
    expect(error.problems.join(" ")).not.toContain("hunter2");
  });
});

describe("AUTH_SECRET", () => {
  it("is required in production", () => {
    const error = configErrorOf({ NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com" });
    expect(problemVariables(error)).toEqual(["AUTH_SECRET"]);
  });

  it("must be at least 32 characters in production", () => {
    const error = configErrorOf({ NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com", AUTH_SECRET: SECRET.slice(0, 31) });
    expect(problemVariables(error)).toEqual(["AUTH_SECRET"]);
  });

  it("accepts exactly 32 characters in production", () => {
    expect(parseEnv({ NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com", AUTH_SECRET: SECRET }).AUTH_SECRET).toBe(SECRET);
  });

  it("an empty AUTH_SECRET in production counts as missing", () => {
    expect(problemVariables(configErrorOf({ NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com", AUTH_SECRET: "" }))).toEqual(["AUTH_SECRET"]);
  });

  it("is optional in development and test", () => {
    expect(parseEnv({ NODE_ENV: "development" }).AUTH_SECRET).toBeUndefined();
    expect(parseEnv({ NODE_ENV: "test" }).AUTH_SECRET).toBeUndefined();
  });

  it("never echoes the secret in the error", () => {
    const error = configErrorOf({ NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com", AUTH_SECRET: "short-but-secret" });
    expect(error.message).not.toContain("short-but-secret");
  });
});

describe("several problems at once", () => {
  it("reports every bad variable in one ConfigError", () => {
    const error = configErrorOf({
      NODE_ENV: "production",
      PORT: "not-a-port",
      DATABASE_URL: "mysql://u:p@h/db",
      CORS_ORIGINS: "https://ok.example.com, garbage",
      LOG_LEVEL: "loud",
      TRUST_PROXY: "many",
    });
    const names = ["APP_URL", "AUTH_SECRET", "CORS_ORIGINS", "DATABASE_URL", "LOG_LEVEL", "PORT", "SMTP_URL", "TRUST_PROXY"];
    expect(problemVariables(error)).toEqual(names);
    for (const name of names) {
      expect(error.message).toContain(name);
    }
  });

  it("reports cross-variable rules alongside schema problems", () => {
    const error = configErrorOf({ PORT: "x", REFRESH_TOKEN_TTL: "7200", SESSION_MAX_AGE: "3600" });
    expect(problemVariables(error)).toEqual(["PORT", "SESSION_MAX_AGE"]);
  });
});

describe("CORS_ORIGINS", () => {
  it("parses a comma list to bare origins, stripping trailing slashes and paths", () => {
    const env = parseEnv({ CORS_ORIGINS: " https://app.example.com/ ,http://localhost:5173/some/path?q=1,https://admin.example.com:8443" });
    expect(env.CORS_ORIGINS).toEqual(["https://app.example.com", "http://localhost:5173", "https://admin.example.com:8443"]);
  });

  it("drops default ports and lower-cases the host", () => {
    expect(parseEnv({ CORS_ORIGINS: "https://APP.Example.com:443/" }).CORS_ORIGINS).toEqual(["https://app.example.com"]);
  });

  it("skips empty items", () => {
    expect(parseEnv({ CORS_ORIGINS: ",https://a.example.com,, ," }).CORS_ORIGINS).toEqual(["https://a.example.com"]);
  });

  it.each(["garbage", "app.example.com", "*", "null", "file:///etc/passwd", "data:text/plain"])("rejects %s", (item) => {
    const error = configErrorOf({ CORS_ORIGINS: `https://good.example.com,${item}` });
    expect(problemVariables(error)).toEqual(["CORS_ORIGINS"]);
  });

  it("names the offending item", () => {
    expect(configErrorOf({ CORS_ORIGINS: "garbage" }).problems[0]).toContain('"garbage"');
  });
});

describe("token lifetimes", () => {
  it("rejects SESSION_MAX_AGE shorter than REFRESH_TOKEN_TTL", () => {
    expect(problemVariables(configErrorOf({ REFRESH_TOKEN_TTL: "7200", SESSION_MAX_AGE: "3600" }))).toEqual(["SESSION_MAX_AGE"]);
  });

  it("rejects a REFRESH_TOKEN_TTL longer than the default SESSION_MAX_AGE", () => {
    expect(problemVariables(configErrorOf({ REFRESH_TOKEN_TTL: String(91 * 86_400) }))).toEqual(["SESSION_MAX_AGE"]);
  });

  it("rejects a SESSION_MAX_AGE shorter than the default REFRESH_TOKEN_TTL", () => {
    expect(problemVariables(configErrorOf({ SESSION_MAX_AGE: String(86_400) }))).toEqual(["SESSION_MAX_AGE"]);
  });

  it("rejects SESSION_MAX_AGE one second shorter than REFRESH_TOKEN_TTL", () => {
    expect(problemVariables(configErrorOf({ REFRESH_TOKEN_TTL: "3600", SESSION_MAX_AGE: "3599" }))).toEqual(["SESSION_MAX_AGE"]);
  });

  it("accepts SESSION_MAX_AGE equal to REFRESH_TOKEN_TTL", () => {
    const env = parseEnv({ REFRESH_TOKEN_TTL: "3600", SESSION_MAX_AGE: "3600" });
    expect(env.SESSION_MAX_AGE).toBe(3600);
  });
});

describe("buildConfig", () => {
  it("production: Secure cookies with __Host- / __Secure- names", () => {
    const config = buildConfig(parseEnv({ NODE_ENV: "production", ...MAIL, AUTH_SECRET: SECRET, APP_URL: "https://auth.example.com" }), SECRET);
    expect(config.isProduction).toBe(true);
    expect(config.cookies.secure).toBe(true);
    expect(config.cookies.sessionName.startsWith("__Host-")).toBe(true);
    expect(config.cookies.refreshName.startsWith("__Secure-")).toBe(true);
    expect(config.cookies.refreshPath).toBe("/auth");
  });

  it("development: cookies are not Secure and carry no prefix", () => {
    const config = buildConfig(parseEnv({}), SECRET);
    expect(config.isProduction).toBe(false);
    expect(config.cookies.secure).toBe(false);
    expect(config.cookies.sessionName).not.toMatch(/^__(Host|Secure)-/);
    expect(config.cookies.refreshName).not.toMatch(/^__(Host|Secure)-/);
  });

  it("allowedOrigins holds APP_URL's origin plus CORS_ORIGINS, and nothing else", () => {
    const config = buildConfig(
      parseEnv({ APP_URL: "https://auth.example.com/base/", CORS_ORIGINS: "https://app.example.com/,http://localhost:5173" }),
      SECRET,
    );
    expect([...config.allowedOrigins].sort()).toEqual(["http://localhost:5173", "https://app.example.com", "https://auth.example.com"]);
  });

  it("appUrl and the issuer drop trailing slashes", () => {
    const config = buildConfig(parseEnv({ APP_URL: "https://auth.example.com/" }), SECRET);
    expect(config.appUrl).toBe("https://auth.example.com");
    expect(config.tokens.issuer).toBe("https://auth.example.com");
  });

  it("without APP_URL, the app URL is localhost on PORT and its origin is allowed", () => {
    const config = buildConfig(parseEnv({ PORT: "4321" }), SECRET);
    expect(config.appUrl).toBe("http://localhost:4321");
    expect(config.allowedOrigins.has("http://localhost:4321")).toBe(true);
  });

  it("copies durations, audience, proxy count and the secret", () => {
    const config = buildConfig(
      parseEnv({ ACCESS_TOKEN_TTL: "60", REFRESH_TOKEN_TTL: "600", SESSION_MAX_AGE: "6000", JWT_AUDIENCE: "my-api", TRUST_PROXY: "2" }),
      SECRET,
    );
    expect(config.tokens).toMatchObject({ audience: "my-api", accessTtlSeconds: 60, refreshTtlSeconds: 600, sessionMaxAgeSeconds: 6000 });
    expect(config.trustProxy).toBe(2);
    expect(config.authSecret).toBe(SECRET);
  });

  it("database: unset is PGlite under DATA_DIR, memory:// is PGlite in memory, either in a worker thread unless asked otherwise, postgres:// is postgres", () => {
    const onDisk = buildConfig(parseEnv({ DATA_DIR: "/var/lib/servauth" }), SECRET);
    expect(onDisk.database).toEqual({ kind: "pglite", dataDir: path.join("/var/lib/servauth", "pgdata"), thread: "worker" });
    expect(onDisk.dataDir).toBe("/var/lib/servauth");

    expect(buildConfig(parseEnv({ DATABASE_URL: "memory://" }), SECRET).database).toEqual({ kind: "pglite", dataDir: null, thread: "worker" });
    expect(buildConfig(parseEnv({ EMBEDDED_DATABASE_THREAD: "main" }), SECRET).database).toMatchObject({ kind: "pglite", thread: "main" });

    const url = "postgresql://u:p@db:5432/app";
    expect(buildConfig(parseEnv({ DATABASE_URL: url }), SECRET).database).toEqual({ kind: "postgres", url, connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 });
    const tight = parseEnv({ DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: "800", DATABASE_STATEMENT_TIMEOUT_MS: "1500" });
    expect(buildConfig(tight, SECRET).database).toMatchObject({ connectTimeoutMs: 800, statementTimeoutMs: 1_500 });
  });

  it("resolves a relative DATA_DIR to an absolute path", () => {
    const config = buildConfig(parseEnv({ DATA_DIR: "./some-data" }), SECRET);
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir).toBe(path.resolve("./some-data"));
  });
});

describe("describeDatabase", () => {
  it("redacts the password of a postgres URL", () => {
    const text = describeDatabase({ kind: "postgres", url: "postgres://servauth:s3cr3t-pa55@db.internal:5432/servauth", ...TIMEOUTS });
    expect(text).not.toContain("s3cr3t-pa55");
    expect(text).toContain("servauth:***@db.internal:5432/servauth");
  });

  it("redacts a percent-encoded password", () => {
    const text = describeDatabase({ kind: "postgres", url: "postgresql://user:p%40ss%3Aword@db:5432/app", ...TIMEOUTS });
    expect(text).not.toContain("p%40ss");
    expect(text).not.toContain("word");
    expect(text).toContain("***");
  });

  it("leaves a URL without a password as it is", () => {
    expect(describeDatabase({ kind: "postgres", url: "postgres://user@db:5432/app", ...TIMEOUTS })).toBe("postgres (postgres://user@db:5432/app)");
  });

  it("describes embedded databases", () => {
    expect(describeDatabase({ kind: "pglite", dataDir: null, thread: "worker" })).toBe("embedded (in memory)");
    expect(describeDatabase({ kind: "pglite", dataDir: "/data/pgdata", thread: "worker" })).toBe("embedded (/data/pgdata)");
  });
});

describe("metrics variables", () => {
  it("serves metrics on the main port by default", () => {
    expect(buildConfig(parseEnv({}), SECRET).metrics).toEqual({ enabled: true, port: null });
  });

  it.each([
    ["false", false],
    ["0", false],
    ["TRUE", true],
    ["1", true],
  ])("reads METRICS_ENABLED=%s as %s", (value, enabled) => {
    expect(parseEnv({ METRICS_ENABLED: value }).METRICS_ENABLED).toBe(enabled);
  });

  it("puts metrics on METRICS_PORT when set, and nowhere when disabled", () => {
    expect(buildConfig(parseEnv({ METRICS_PORT: "9464" }), SECRET).metrics).toEqual({ enabled: true, port: 9464 });
    expect(buildConfig(parseEnv({ METRICS_PORT: "9464", METRICS_ENABLED: "false" }), SECRET).metrics).toEqual({ enabled: false, port: null });
  });

  it("keeps metrics off the public port in production: METRICS_PORT unset is 9464 there, the main port elsewhere", () => {
    const production = { NODE_ENV: "production", ...MAIL, APP_URL: "https://auth.example.com", AUTH_SECRET: SECRET };
    expect(buildConfig(parseEnv(production), SECRET).metrics).toEqual({ enabled: true, port: 9464 });
    expect(buildConfig(parseEnv({ ...production, METRICS_PORT: "9100" }), SECRET).metrics).toEqual({ enabled: true, port: 9100 });
    expect(buildConfig(parseEnv({}), SECRET).metrics).toEqual({ enabled: true, port: null });
    expect(() => parseEnv({ ...production, PORT: "9464" })).toThrow("METRICS_PORT: must differ from PORT (unset, it is 9464 in production)");
  });

  it.each([
    [{ METRICS_ENABLED: "yes" }, "METRICS_ENABLED"],
    [{ METRICS_PORT: "0" }, "METRICS_PORT"],
    [{ METRICS_PORT: "abc" }, "METRICS_PORT"],
    [{ METRICS_PORT: "3000" }, "METRICS_PORT: must differ from PORT"],
    [{ PORT: "8080", METRICS_PORT: "8080" }, "METRICS_PORT: must differ from PORT"],
  ])("rejects %o naming %s", (env, named) => {
    expect(() => parseEnv(env)).toThrow(named);
  });
});

describe("one-time code settings", () => {
  it("reports every out-of-range value at once", () => {
    const error = configErrorOf({
      OTP_LENGTH: "5",
      OTP_TTL: "0",
      OTP_MAX_ATTEMPTS: "21",
      OTP_RESEND_DELAY: "-1",
      OTP_MAX_RESENDS: "x",
      OTP_MAX_CREDENTIALS: "11",
      OTP_SIGNUP: "yes",
      OTP_KEY_ROTATION_DAYS: "0",
    });
    expect(problemVariables(error)).toEqual([
      "OTP_KEY_ROTATION_DAYS",
      "OTP_LENGTH",
      "OTP_MAX_ATTEMPTS",
      "OTP_MAX_CREDENTIALS",
      "OTP_MAX_RESENDS",
      "OTP_RESEND_DELAY",
      "OTP_SIGNUP",
      "OTP_TTL",
    ]);
  });

  it("caps OTP_MAX_CREDENTIALS at 5, where the sealed challenge still fits a 4 KB cookie", () => {
    expect(parseEnv({ OTP_MAX_CREDENTIALS: "5" }).OTP_MAX_CREDENTIALS).toBe(5);
    expect(problemVariables(configErrorOf({ OTP_MAX_CREDENTIALS: "6" }))).toEqual(["OTP_MAX_CREDENTIALS"]);
  });

  it("spaces codes to one address by OTP_RESEND_DELAY unless RATE_LIMIT_OTP_SEND_DELAY says otherwise", () => {
    expect(parseEnv({ OTP_RESEND_DELAY: "45" }).rateLimitRules.otpSendDelay).toEqual({ max: 1, windowSeconds: 45 });
    expect(parseEnv({ OTP_RESEND_DELAY: "0" }).rateLimitRules.otpSendDelay).toBeNull();
    expect(parseEnv({ OTP_RESEND_DELAY: "45", RATE_LIMIT_OTP_SEND_DELAY: "2/60" }).rateLimitRules.otpSendDelay).toEqual({ max: 2, windowSeconds: 60 });
    expect(parseEnv({ RATE_LIMIT_OTP_SEND_DELAY: "off" }).rateLimitRules.otpSendDelay).toBeNull();
  });

  it("accepts the extremes tests and operators use, and names the cookie by environment", () => {
    const env = parseEnv({ OTP_LENGTH: "10", OTP_TTL: "1", OTP_RESEND_DELAY: "0", OTP_MAX_RESENDS: "0", OTP_SIGNUP: "true" });
    expect(env).toMatchObject({ OTP_LENGTH: 10, OTP_TTL: 1, OTP_RESEND_DELAY: 0, OTP_MAX_RESENDS: 0, OTP_SIGNUP: true });
    expect(buildConfig(env, SECRET).otp.cookieName).toBe("servauth.otp");
    const production = parseEnv({ NODE_ENV: "production", ...MAIL, AUTH_SECRET: SECRET, APP_URL: "https://auth.example.com" });
    expect(buildConfig(production, SECRET).otp.cookieName).toBe("__Host-servauth.otp");
  });
});

describe("WORKERS", () => {
  const POSTGRES = "postgres://u:p@db:5432/app";

  it("is 1 by default, a number, or auto: one per CPU", () => {
    expect(buildConfig(parseEnv({}), SECRET).workers).toBe(1);
    expect(buildConfig(parseEnv({ WORKERS: "3", DATABASE_URL: POSTGRES }), SECRET).workers).toBe(3);
    expect(buildConfig(parseEnv({ WORKERS: "auto", DATABASE_URL: POSTGRES }), SECRET).workers).toBe(availableParallelism());
  });

  it.each(["0", "-2", "1.5", "many", "257"])("rejects WORKERS=%s", (value) => {
    expect(problemVariables(configErrorOf({ WORKERS: value, DATABASE_URL: POSTGRES }))).toEqual(["WORKERS"]);
  });

  it.each([{}, { DATABASE_URL: "memory://" }])("refuses more than one worker on the embedded database (%o)", (database) => {
    for (const workers of ["2", "auto"]) {
      expect(configErrorOf({ WORKERS: workers, ...database }).problems).toEqual([
        "WORKERS: the embedded database (PGlite) is single-process; more than one worker needs DATABASE_URL=postgres://...",
      ]);
    }
    expect(parseEnv({ WORKERS: "1", ...database }).WORKERS).toBe(1);
  });

  it("refuses per-process rate-limit counters with several workers; auto picks the shared PostgreSQL store", () => {
    expect(problemVariables(configErrorOf({ WORKERS: "2", DATABASE_URL: POSTGRES, RATE_LIMIT_STORE: "memory" }))).toEqual(["RATE_LIMIT_STORE"]);
    expect(buildConfig(parseEnv({ WORKERS: "2", DATABASE_URL: POSTGRES }), SECRET).abuse.store).toBe("postgres");
  });
});

describe("MAIL_TRANSPORT", () => {
  const production = { NODE_ENV: "production", APP_URL: "https://auth.example.com", AUTH_SECRET: SECRET };
  const SMTP_URL = "smtp://mail.example.com:587";
  const mailOf = (source: Record<string, string>) => buildConfig(parseEnv(source), SECRET).mail;

  it("production without SMTP_URL refuses to start, naming both ways out (mail would put reset links in the log)", () => {
    const error = configErrorOf(production);
    expect(problemVariables(error)).toEqual(["SMTP_URL"]);
    expect(error.message).toContain("MAIL_TRANSPORT=log");
  });

  it("production with an explicit MAIL_TRANSPORT=log starts and logs mail", () => {
    expect(mailOf({ ...production, MAIL_TRANSPORT: "log" })).toEqual({ transport: "log", from: "Servauth <no-reply@localhost>" });
  });

  it("SMTP_URL alone means smtp, in production and development", () => {
    expect(mailOf({ ...production, SMTP_URL })).toMatchObject({ transport: "smtp", smtpUrl: SMTP_URL });
    expect(mailOf({ SMTP_URL, MAIL_TRANSPORT: "smtp" })).toMatchObject({ transport: "smtp", smtpUrl: SMTP_URL });
  });

  it("development without SMTP_URL prints mail", () => {
    expect(mailOf({}).transport).toBe("log");
  });

  it("smtp without SMTP_URL, log beside SMTP_URL, and unknown values are refused", () => {
    expect(configErrorOf({ MAIL_TRANSPORT: "smtp" }).problems).toEqual(["MAIL_TRANSPORT: smtp needs SMTP_URL"]);
    expect(problemVariables(configErrorOf({ MAIL_TRANSPORT: "log", SMTP_URL }))).toEqual(["MAIL_TRANSPORT"]);
    expect(problemVariables(configErrorOf({ MAIL_TRANSPORT: "console" }))).toEqual(["MAIL_TRANSPORT"]);
  });
});
