import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH_FLOOR } from "../../auth/password-policy.ts";
import { z } from "zod";
import { flag, seconds } from "./fields.ts";

/** Account lifecycle (mailed links, verification, deletion, audit retention) and the password policy. */
export const accountVariables = {
  RESET_TOKEN_TTL: seconds(3600).describe("Lifetime of a password-reset link, in seconds."),
  VERIFY_TOKEN_TTL: seconds(86_400).describe("Lifetime of an email-verification link, in seconds."),
  REQUIRE_EMAIL_VERIFICATION: flag(false).describe(
    "true: a password is no credential until its address is verified (login answers 401 INVALID_CREDENTIALS, as for a wrong one), and register signs nobody in and answers 202 {} for a new and a taken address alike (no enumeration).",
  ),
  ACCOUNT_DELETION_GRACE: z
    .coerce.number()
    .int()
    .min(0)
    .max(365 * 86_400)
    .default(0)
    .describe("Seconds between DELETE /auth/me and the deletion; meanwhile a mailed link cancels it and login answers 403 ACCOUNT_PENDING_DELETION. 0 deletes at once."),
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90).describe("Audit events older than this many days are deleted (checked hourly)."),
  DELETION_SWEEP_INTERVAL: seconds(60).describe("How often (seconds) scheduled account deletions are carried out."),
  PASSWORD_MIN_LENGTH: z
    .coerce.number()
    .int()
    .min(PASSWORD_MIN_LENGTH_FLOOR)
    .max(PASSWORD_MAX_LENGTH)
    .default(PASSWORD_MIN_LENGTH_FLOOR)
    .describe("Shortest new password, in characters (code points) after NFKC normalization. Raise it to 15 where the password is the only factor."),
  HIBP_ENABLED: flag(false).describe(
    "true: new passwords are also checked against Have I Been Pwned's range API (k-anonymity: only 5 hex digits of a SHA-1 leave the server). false: the server makes no outside request.",
  ),
  HIBP_API_URL: z.url({ protocol: /^https?$/ }).default("https://api.pwnedpasswords.com").describe("Base URL of the Pwned Passwords range API (GET {url}/range/{prefix}), e.g. a mirror."),
  HIBP_TIMEOUT_MS: z
    .coerce.number()
    .int()
    .min(100)
    .max(10_000)
    .default(1_500)
    .describe("Milliseconds to wait for the range API; past it (or on an error) the check is skipped with a warning (fail-open)."),
};
