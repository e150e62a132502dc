/** A limit: at most `max` hits per `windowSeconds`. */
export type LimitRule = { max: number; windowSeconds: number };

/**
 * What a rule does when its store cannot be reached: `closed` refuses (503; the credential endpoints, where
 * an unlimited attacker is worse than an outage), `open` lets the request through (everything else).
 */
export type FailMode = "closed" | "open";

export const RULE_NAMES = [
  "loginAccount",
  "loginIp",
  "stuffingIp",
  "registerIp",
  "forgotPasswordIp",
  "forgotPasswordEmail",
  "resetPasswordIp",
  "verifyIp",
  "otpSendAddress",
  "otpSendDelay",
  "otpSendIp",
  "otpVerifyAddress",
  "otpVerifyIp",
  "mfaAccount",
  "mfaVerifyIp",
  "mfaSendAccount",
  "mfaSendToken",
  "refreshSession",
  "unauthenticatedIp",
  "authenticatedSession",
  "adminSession",
  "passkeyIp",
  "passkeyCredential",
  "graphqlCostSession",
  "apiKey",
  "oauthClient",
  "oauthIp",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/** What each rule counts, in a sentence; the configuration reference (docs/configuration.md) is rendered from these. */
export const RULE_DESCRIPTIONS: Record<RuleName, string> = {
  loginAccount: "Password checks per account email (login and change-password), counted before the password is checked and reset by a right one; past it the account is locked out for the window.",
  loginIp: "Login attempts per client IP.",
  stuffingIp: "Distinct accounts with a failed login per client IP (credential stuffing).",
  registerIp: "Registrations per client IP, including accounts a sign-in code creates with OTP_SIGNUP.",
  forgotPasswordIp: "POST /auth/forgot-password and /auth/resend-verification per client IP.",
  forgotPasswordEmail: "POST /auth/forgot-password and /auth/resend-verification per email address.",
  resetPasswordIp: "POST /auth/reset-password per client IP.",
  verifyIp: "POST /auth/verify-email and /auth/cancel-deletion per client IP.",
  otpSendAddress: "One-time codes made (create and resend) per target address.",
  otpSendDelay: "Codes per address across challenges (default 1/OTP_RESEND_DELAY): a new challenge is no way around the resend delay.",
  otpSendIp: "One-time codes made (create and resend) per client IP.",
  otpVerifyAddress: "Wrong one-time codes per address across all its challenges, reset by a right code.",
  otpVerifyIp: "POST /auth/otp/verify per client IP.",
  mfaAccount: "Wrong second-factor codes per account (sign-in and enrolment), counted across mfaTokens and reset by a right one; past it the account's second-factor verification is locked for the window.",
  mfaVerifyIp: "POST /auth/mfa/verify and /auth/mfa/challenge per client IP.",
  mfaSendAccount: "Second-factor codes mailed per account (sign-in and enrolment), keyed by the user, not the address: one-time-code requests for the address cannot spend it. The client IP's RATE_LIMIT_OTP_SEND_IP counts them too.",
  mfaSendToken: "Second-factor codes mailed per mfaToken (POST /auth/mfa/challenge).",
  refreshSession: "Refreshes per session.",
  unauthenticatedIp: "Requests presenting no credentials (and requests whose credentials fail) per client IP; /health, /ready and /metrics are exempt.",
  authenticatedSession: "Authenticated requests per session (off by default: an app's backend may call GET /auth/me at high rates).",
  adminSession: "Requests to the admin API (/auth/admin) per administrator's session: bounds what a stolen admin session or a runaway script can do in a minute.",
  passkeyIp: "Passkey sign-in options and assertions (POST /auth/passkeys/login/*, /auth/mfa/webauthn/options, and POST /auth/mfa/verify with method webauthn) per client IP.",
  passkeyCredential: "Failed assertions per registered credential id, whoever presents them, each over a valid challenge; past it further failures are refused and logged. A right assertion is never refused by it (nobody can lock an owner out of their key) and resets it.",
  graphqlCostSession: "GraphQL cost per session (or per client IP without one): each operation spends its computed cost (docs/graphql.md), so many cheap requests and a few costly ones meet the same budget.",
  apiKey: "Authenticated requests per personal API key (`Authorization: Bearer sa_...`); off by default, as RATE_LIMIT_AUTHENTICATED_SESSION (a key's requests come from backends and scripts, and each counted request is a store write).",
  oauthClient: "Requests to /oauth2/token, /oauth2/introspect and /oauth2/revoke per authenticated machine client.",
  oauthIp: "Requests to /oauth2/token, /oauth2/introspect and /oauth2/revoke per client IP, counted before the client is authenticated (so wrong secrets are bounded too).",
};

/**
 * Rules counting what anyone does to one address (an account's email): their state is not advertised in RateLimit
 * headers, whose `remaining` would tell a caller how much other people have been trying on that address. A refusal
 * still carries Retry-After.
 */
export const KEYED_BY_ADDRESS: ReadonlySet<RuleName> = new Set<RuleName>([
  "loginAccount",
  "forgotPasswordEmail",
  "otpSendAddress",
  "otpSendDelay",
  "otpVerifyAddress",
  "mfaAccount",
  "mfaSendAccount",
]);

/**
 * What a refusal by each rule says (the problem's detail). Rules keyed by an address say which, never a count:
 * how close the limit is would tell how much others have been trying on it.
 */
export const RULE_REFUSALS: Record<RuleName, string> = {
  loginAccount: "Too many sign-in attempts for this email address",
  loginIp: "Too many sign-in attempts from this IP address",
  stuffingIp: "Too many different accounts tried from this IP address",
  registerIp: "Too many registrations from this IP address",
  forgotPasswordIp: "Too many password-reset requests from this IP address",
  forgotPasswordEmail: "Too many password-reset requests for this email address",
  resetPasswordIp: "Too many password resets from this IP address",
  verifyIp: "Too many verification attempts from this IP address",
  otpSendAddress: "Too many codes sent to this address",
  otpSendDelay: "A code was sent to this address moments ago",
  otpSendIp: "Too many codes requested from this IP address",
  otpVerifyAddress: "Too many wrong codes for this address",
  otpVerifyIp: "Too many code attempts from this IP address",
  mfaAccount: "Too many wrong second-factor codes for this account",
  mfaVerifyIp: "Too many second-factor attempts from this IP address",
  mfaSendAccount: "Too many second-factor codes mailed for this account",
  mfaSendToken: "Too many codes mailed for this sign-in",
  refreshSession: "Too many refreshes of this session",
  unauthenticatedIp: "Too many requests from this IP address",
  authenticatedSession: "Too many requests in this session",
  adminSession: "Too many admin requests in this session",
  passkeyIp: "Too many passkey attempts from this IP address",
  passkeyCredential: "Too many attempts with this passkey",
  graphqlCostSession: "This session spent its GraphQL cost budget",
  apiKey: "Too many requests with this API key",
  oauthClient: "Too many requests from this client",
  oauthIp: "Too many requests from this IP address",
};

/** null: the rule is off. */
export type RateLimitRules = Record<RuleName, LimitRule | null>;

export const FAIL_MODES: Record<RuleName, FailMode> = {
  loginAccount: "closed",
  loginIp: "closed",
  stuffingIp: "closed",
  registerIp: "closed",
  forgotPasswordIp: "closed",
  forgotPasswordEmail: "closed",
  resetPasswordIp: "closed",
  verifyIp: "closed",
  otpSendAddress: "closed",
  otpSendDelay: "closed",
  otpSendIp: "closed",
  otpVerifyAddress: "closed",
  otpVerifyIp: "closed",
  mfaAccount: "closed",
  mfaVerifyIp: "closed",
  mfaSendAccount: "closed",
  mfaSendToken: "closed",
  refreshSession: "open",
  unauthenticatedIp: "open",
  authenticatedSession: "open",
  // The admin API can ban, delete and impersonate: unlimited is worse than unavailable for a moment.
  adminSession: "closed",
  passkeyIp: "closed",
  passkeyCredential: "closed",
  graphqlCostSession: "open",
  apiKey: "open",
  // Client authentication checks secrets: unlimited guessing is worse than a moment's outage.
  oauthClient: "closed",
  oauthIp: "closed",
};

const minutes = (n: number) => n * 60;

/** The defaults of issue 7; each can be changed with RATE_LIMIT_<RULE> ("max/windowSeconds", or "off"). */
export const DEFAULT_RULES: RateLimitRules = {
  loginAccount: { max: 10, windowSeconds: minutes(15) },
  loginIp: { max: 100, windowSeconds: minutes(15) },
  stuffingIp: { max: 20, windowSeconds: minutes(15) },
  registerIp: { max: 5, windowSeconds: minutes(60) },
  forgotPasswordIp: { max: 5, windowSeconds: minutes(15) },
  forgotPasswordEmail: { max: 5, windowSeconds: minutes(15) },
  resetPasswordIp: { max: 10, windowSeconds: minutes(15) },
  verifyIp: { max: 10, windowSeconds: minutes(15) },
  // Every create and resend that may mail a code counts, per target address and per client address.
  otpSendAddress: { max: 10, windowSeconds: minutes(15) },
  // One code per address per OTP_RESEND_DELAY, across challenges: a new challenge is no way around the delay.
  // Its default follows OTP_RESEND_DELAY (see env.ts); this is the value for the default delay.
  otpSendDelay: { max: 1, windowSeconds: 30 },
  otpSendIp: { max: 30, windowSeconds: minutes(15) },
  // Wrong codes per address across challenges: without it every new challenge would bring OTP_MAX_ATTEMPTS more guesses.
  otpVerifyAddress: { max: 10, windowSeconds: minutes(15) },
  otpVerifyIp: { max: 60, windowSeconds: minutes(15) },
  // Two mfaTokens' worth of wrong codes: a stolen password buys no more than ten guesses per quarter hour.
  mfaAccount: { max: 10, windowSeconds: minutes(15) },
  mfaVerifyIp: { max: 60, windowSeconds: minutes(15) },
  // The account's own mail budget: the anonymous per-address budgets would let anyone block its email second factor.
  mfaSendAccount: { max: 10, windowSeconds: minutes(15) },
  // A few resends over an mfaToken's five minutes.
  mfaSendToken: { max: 3, windowSeconds: minutes(5) },
  refreshSession: { max: 60, windowSeconds: minutes(1) },
  unauthenticatedIp: { max: 300, windowSeconds: minutes(1) },
  // Off by default: an app's backend calls GET /auth/me at high rates from few addresses.
  authenticatedSession: null,
  adminSession: { max: 120, windowSeconds: minutes(1) },
  // Options and an assertion per sign-in, with room for retries and autofill prompts that were dismissed.
  passkeyIp: { max: 100, windowSeconds: minutes(15) },
  passkeyCredential: { max: 20, windowSeconds: minutes(15) },
  // Twenty operations a minute at the most a single one may cost (GRAPHQL_MAX_COST's default).
  graphqlCostSession: { max: 100_000, windowSeconds: minutes(1) },
  // Off by default, as authenticatedSession: a key is a backend's or a script's, which may call at high rates, and
  // counting every request would put a write on the hot path of deployments whose store is PostgreSQL. Set it to
  // bound what a leaked key can do in a minute (with Redis as the store, it costs no database write).
  apiKey: null,
  // A resource server introspecting each request it serves makes many calls: generous, but bounded.
  oauthClient: { max: 1200, windowSeconds: minutes(1) },
  oauthIp: { max: 1200, windowSeconds: minutes(1) },
};

/** RATE_LIMIT_LOGIN_ACCOUNT etc. */
export const ruleVariable = (name: RuleName) => `RATE_LIMIT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** "10/900" -> 10 per 900 s; "off" -> null; anything else -> undefined (invalid). */
export function parseRule(value: string): LimitRule | null | undefined {
  if (value.trim().toLowerCase() === "off") return null;
  const match = /^\s*(\d{1,7})\s*\/\s*(\d{1,7})\s*$/.exec(value);
  if (!match) return undefined;
  const [max, windowSeconds] = [Number(match[1]), Number(match[2])];
  return max >= 1 && windowSeconds >= 1 ? { max, windowSeconds } : undefined;
}
