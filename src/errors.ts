import type { LimitState } from "./abuse/limiter.ts";

/**
 * The one error type. Everything a client can cause is an AppError with a stable code from this catalogue;
 * http/on-error.ts is the only place that turns it into a response (RFC 9457 problem+json). `description` says when
 * a code happens: the error catalogue (docs/errors.md) is rendered from it by scripts/generate-docs.ts.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    title: "The request is not valid",
    description: "A field is missing or malformed; `errors` lists each bad field with a message. Also a new password shorter than PASSWORD_MIN_LENGTH, a one-time code that is not OTP_LENGTH digits, and an email change without currentPassword.",
  },
  WEBHOOK_URL_FORBIDDEN: {
    status: 400,
    title: "Webhooks cannot be sent to this URL",
    description: "A webhook endpoint's URL resolves to a loopback, private, link-local or cloud-metadata address, does not resolve, carries user info, or (in production) is not https; WEBHOOK_ALLOW_PRIVATE_NETWORKS=true lifts the address and https rules. `detail` says which.",
  },
  INVALID_JSON: {
    status: 400,
    title: "The request body is not valid JSON",
    description: "The body of a JSON route could not be parsed as JSON.",
  },
  MALFORMED_REQUEST: {
    status: 400,
    title: "The request could not be read: it is not well-formed HTTP, or the connection broke",
    description: "The request is not well-formed HTTP (a malformed request line or chunked body) or the connection broke while the body was read. On Bun the runtime's parser answers some of these itself, without a body (docs/api.md).",
  },
  PASSWORD_TOO_COMMON: {
    status: 400,
    title: "The password is too common or too easy to guess",
    description: "A new password (register, reset, change) is on the common-password list, contains the email's local part, or (HIBP_ENABLED) is in a known breach; `detail` says which, `errors` names the field.",
  },
  UNAUTHENTICATED: {
    status: 401,
    title: "Authentication is required",
    description: "A protected route got no credential, or one that is not valid: a bad or expired access token, an unknown session cookie, a revoked or expired session, an API key (`sa_...`) that is malformed, unknown, revoked or expired. Sent with `WWW-Authenticate: Bearer`.",
  },
  INVALID_CREDENTIALS: {
    status: 401,
    title: "The credentials are not valid",
    description: "Wrong email or password at login (the same answer for an unknown email), or a wrong current password on change-password, an email change or account deletion. With REQUIRE_EMAIL_VERIFICATION, also a right password for an account whose address is not verified yet.",
  },
  INVALID_REFRESH_TOKEN: {
    status: 401,
    title: "The refresh token is not valid",
    description: "POST /auth/refresh with no refresh token, or one that is unknown or expired, or whose session has ended (logout, revocation).",
  },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    title: "The refresh token was already used; the session is revoked",
    description: "A refresh token that was already exchanged was presented again, after REFRESH_GRACE_SECONDS or once its successor was used: taken as theft, the whole session is revoked (and the cookies cleared).",
  },
  STEP_UP_REQUIRED: {
    status: 401,
    title: "A recent sign-in is required: re-authenticate (POST /auth/reauthenticate) and retry",
    description: "A sensitive action (change-password, an email change, DELETE /auth/me, DELETE /auth/sessions) on a session whose last authentication is older than STEP_UP_MAX_AGE, with no current password in the body to count instead. `maxAge` says the limit; WWW-Authenticate carries RFC 9470's insufficient_user_authentication. Also changing second factors or recovery codes (DELETE /auth/mfa/*, POST /auth/mfa/recovery-codes, /auth/mfa/totp/setup, /auth/mfa/email/enable) once the user has a second factor, on a session that did not prove it: then `acrValues` is \"aal2\" (and so is the challenge's acr_values); re-authenticate with the second factor (method totp or recovery_code).",
  },
  INVALID_TOKEN: {
    status: 400,
    title: "The token is not valid: unknown, used or expired",
    description: "A password-reset, email-verification or deletion-cancel token that is unknown, used or expired.",
  },
  OTP_INVALID_CODE: {
    status: 400,
    title: "The code is not correct",
    description: "A wrong one-time code; `attemptsLeft` says how many tries remain, and `challenge` is the state to send with the next try (the challenge cookie is replaced too).",
  },
  OTP_EXPIRED: {
    status: 400,
    title: "The code has expired; ask for a new one",
    description: "The one-time code (or, for a resend, every code of the challenge) has expired; nothing is spent.",
  },
  OTP_CHALLENGE_INVALID: {
    status: 400,
    title: "The challenge is not valid: unknown, already used or damaged",
    description: "The presented challenge does not decrypt, is already used, belongs to another user, or no challenge was presented; the challenge cookie is cleared.",
  },
  OTP_TOO_MANY_ATTEMPTS: {
    status: 400,
    title: "Too many wrong codes; the challenge is burned, start a new one",
    description: "The wrong code that used the last of OTP_MAX_ATTEMPTS: the challenge is burned and its cookie cleared.",
  },
  OTP_TOO_MANY_CREDENTIALS: {
    status: 400,
    title: "The challenge holds as many addresses as it may",
    description: "Adding an address to a challenge that already holds OTP_MAX_CREDENTIALS.",
  },
  MFA_INVALID_CODE: {
    status: 400,
    title: "The second-factor code is not correct",
    description: "A wrong second-factor code: at enrolment (POST /auth/mfa/totp/confirm, /auth/mfa/email/confirm), or at POST /auth/mfa/verify with `attemptsLeft`, the wrong codes the mfaToken still takes. A TOTP code whose time step was already accepted, or a used recovery code, is refused the same way. Also POST /auth/reauthenticate with method totp or recovery_code. (400 like OTP_INVALID_CODE, not the 401 the issue's contract names: the catalogue has one status per code.)",
  },
  MFA_CHALLENGE_INVALID: {
    status: 400,
    title: "The sign-in challenge is not valid: unknown, used, expired or burned; sign in again",
    description: "POST /auth/mfa/verify or /auth/mfa/challenge with an mfaToken that is unknown, already used, older than 5 minutes or burned by 5 wrong codes, or with a method the token does not offer (email after an email-code sign-in), or an emailed code that was never sent or expired.",
  },
  MFA_NO_PENDING_ENROLLMENT: {
    status: 400,
    title: "There is no enrolment to confirm; start it first",
    description: "POST /auth/mfa/totp/confirm without POST /auth/mfa/totp/setup before it, or POST /auth/mfa/email/confirm without POST /auth/mfa/email/enable (or after its code expired).",
  },
  CSRF_REJECTED: {
    status: 403,
    title: "The request origin is not allowed",
    description: "An unsafe /auth request whose Origin is not allowed, or one that carries a Servauth cookie without an Origin and without `Sec-Fetch-Site: same-origin` (docs/browser-clients.md).",
  },
  EMAIL_NOT_VERIFIED: {
    status: 403,
    title: "The email address must be verified first",
    description: "With REQUIRE_EMAIL_VERIFICATION, a right sign-in code for an account whose address is not verified. (A right password for such an account answers INVALID_CREDENTIALS, as a wrong one does: anything else would tell who registered which address.)",
  },
  ACCOUNT_PENDING_DELETION: {
    status: 403,
    title: "The account is scheduled for deletion",
    description: "A right password (or code) for an account scheduled for deletion (ACCOUNT_DELETION_GRACE); cancel the deletion with the mailed link first.",
  },
  MFA_REQUIRED: {
    status: 403,
    title: "A second factor is required to finish signing in",
    description: "A right first factor (password, email sign-in code) of a user with a second factor: no session is made. `mfaToken` (single use, 5 minutes, 5 wrong codes), `methods` (what POST /auth/mfa/verify accepts for it) and `expiresAt` say how to finish (docs/mfa.md).",
  },
  MFA_ENROLLMENT_REQUIRED: {
    status: 403,
    title: "Set up a second factor first",
    description: "With MFA_POLICY=required, a session of a user without a second factor may only use GET /auth/me, /auth/mfa/*, /auth/logout and /auth/reauthenticate; every other authenticated route answers this. So does a session proven by mailed codes alone: a mailed code is no second factor to itself.",
  },
  FORBIDDEN: {
    status: 403,
    title: "This action is not allowed for the caller",
    description: "A signed-in user without the admin role called an admin route (/auth/admin), or an impersonated session (POST /auth/admin/users/{id}/impersonate) tried a sensitive action (step-up, re-authentication) or an admin route.",
  },
  FORBIDDEN_FOR_API_KEY: {
    status: 403,
    title: "This action needs a signed-in session, not an API key",
    description: "A request authenticated by a personal API key (`Authorization: Bearer sa_...`) tried a sensitive action: anything that needs a recent authentication (step-up) or a proven second factor, re-authentication, the admin API, logout, managing API keys, or changing second factors.",
  },
  ACCOUNT_BANNED: {
    status: 403,
    title: "The account is banned",
    description: "A right password or code (login, code sign-in), a refresh, or a request with a live session, for an account an administrator banned. `until` says when a temporary ban lifts; a permanent one has none.",
  },
  CANNOT_IMPERSONATE_ADMIN: {
    status: 403,
    title: "An administrator cannot be impersonated",
    description: "POST /auth/admin/users/{id}/impersonate for a user who has the admin role.",
  },
  CANNOT_CHANGE_ADMIN_EMAIL: {
    status: 403,
    title: "An administrator's email is theirs to change",
    description: "PATCH /auth/admin/users/{id} with a new email for a user who has (or is given) the admin role: one administrator must not point another's account at a mailbox they read. The administrator changes it themselves.",
  },
  NOT_FOUND: {
    status: 404,
    title: "Not found",
    description: "No route has this path (or this method on it), the session to revoke is not one of the caller's, (admin API) no user has this id, or DELETE /auth/mfa/totp or /auth/mfa/email for a factor the user does not have (MFA_NOT_ENABLED says the same for recovery codes).",
  },
  LAST_ADMIN: {
    status: 409,
    title: "The change would leave no active administrator",
    description: "An admin API or CLI change (removing the admin role, a ban, a deletion), or DELETE /auth/me, that would leave no administrator who is not banned or scheduled for deletion. Of two administrators demoting each other at once, one succeeds.",
  },
  WEBHOOK_ROTATION_PENDING: {
    status: 409,
    title: "The previous webhook secret is still in its overlap",
    description: "POST /auth/admin/webhooks/{id}/rotate-secret while the secret a previous rotation replaced still signs (24 hours): rotating again would stop it early, before receivers have the new one. Of two rotations at once, one succeeds.",
  },
  EMAIL_TAKEN: {
    status: 409,
    title: "The email address is already registered",
    description: "Register or an email change with an address another account has (register without REQUIRE_EMAIL_VERIFICATION only).",
  },
  USERNAME_TAKEN: {
    status: 409,
    title: "The username is already taken",
    description: "Register or a profile change with a username another account has, ignoring case.",
  },
  PASSWORD_NOT_SET: {
    status: 409,
    title: "The account has no password to confirm this with",
    description: "A password was presented to change-password, DELETE /auth/me, an email change or POST /auth/reauthenticate, but the account has none (made by an email sign-in code). Leave it out and re-authenticate with a mailed code instead (POST /auth/reauthenticate, method email).",
  },
  MFA_ALREADY_ENABLED: {
    status: 409,
    title: "This second factor is already set up",
    description: "POST /auth/mfa/totp/setup or /auth/mfa/email/enable when that factor is confirmed; delete it first to replace it.",
  },
  MFA_FACTOR_NOT_SECOND: {
    status: 409,
    title: "This would not be a second factor: the account has no other way to sign in",
    description: "POST /auth/mfa/email/enable or /auth/mfa/email/confirm for an account whose only first factor is a mailed code (made by a sign-in code, no password): a mailed code cannot be the second factor to itself. Set a password or an authenticator app up instead.",
  },
  MFA_NOT_ENABLED: {
    status: 409,
    title: "No second factor is set up",
    description: "POST /auth/mfa/recovery-codes by a user without a confirmed second factor.",
  },
  MFA_REQUIRED_BY_POLICY: {
    status: 409,
    title: "The last second factor cannot be removed: the server requires one",
    description: "With MFA_POLICY=required, deleting the user's last confirmed second factor.",
  },
  IP_BLOCKED: {
    status: 403,
    title: "Requests from this address are not accepted",
    description: "The client IP is in BLOCKLIST_CIDRS; answered before any other work.",
  },
  CLIENT_CLOSED_REQUEST: {
    status: 400,
    title: "The client closed the connection before the request was served",
    description:
      "The request first needed the client's address after the client hung up, when it can no longer be read (a request that can change state reads it as it arrives; a GET when it first needs it): refused rather than served without its per-address limits. Nobody receives the answer; it appears in logs and metrics.",
  },
  TOO_MANY_API_KEYS: {
    status: 409,
    title: "The account holds as many API keys as it may",
    description: "POST /auth/api-keys when the user already has API_KEYS_PER_USER keys that are neither revoked nor expired: revoke one first.",
  },
  RATE_LIMITED: {
    status: 429,
    title: "Too many requests; try again later",
    description: "A rate-limit rule (RATE_LIMIT_*) refused the request; `Retry-After` says when to try again.",
  },
  OTP_RESEND_TOO_SOON: {
    status: 429,
    title: "A new code cannot be sent yet",
    description: "A code went to this address less than OTP_RESEND_DELAY seconds ago; `Retry-After` says when the next may go.",
  },
  OTP_RESEND_LIMIT: {
    status: 429,
    title: "No more codes can be sent for this challenge; start a new one",
    description: "The challenge used its OTP_MAX_RESENDS resends; start a new one.",
  },
  REQUEST_TIMEOUT: {
    status: 408,
    title: "The request did not arrive in time",
    description: "The client sent less body than it declared, or its headers too slowly, within REQUEST_DEADLINE_MS (or Node's HTTP_REQUEST_TIMEOUT/HTTP_HEADERS_TIMEOUT); the connection is closed. The client's delay, not an outage.",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: "The request body is too large",
    description: "The request body is larger than 64 KiB.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: "The request body must be application/json",
    description: "A JSON route got a body that is not `application/json`.",
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    title: "The request headers are too large",
    description: "The request's headers exceed the runtime's limit (Node answers it in this format; Bun's parser answers a bare 431).",
  },
  DEPENDENCY_UNAVAILABLE: {
    status: 503,
    title: "A dependency is unavailable",
    description: "The database (or the rate-limit store of a credential route, or Redis) did not answer in time, or REQUEST_DEADLINE_MS passed; `Retry-After` is set. /ready answers it while the database is down.",
  },
  REDIRECT_NOT_ALLOWED: {
    status: 400,
    title: "The redirect target is not allowed",
    description: "A social-login `redirectTo` that is not an absolute URL under one of OAUTH_REDIRECT_ALLOWLIST's entries (same scheme, host and port, under its path), or that carries user info or a backslash. Answered before any redirect.",
  },
  OAUTH_PROVIDER_UNKNOWN: {
    status: 404,
    title: "No such sign-in provider",
    description: "A social-login path names a provider that is not in OAUTH_PROVIDERS.",
  },
  OAUTH_FLOW_INVALID: {
    status: 400,
    title: "The sign-in with the provider could not be completed; start again",
    description: "A social-login callback or exchange whose flow is missing, damaged, expired (10 minutes; an exchange code: 60 s), already used, for another provider, or whose provider answer fails a check (state, nonce, PKCE, ID token). The audit log says which.",
  },
  OAUTH_ACCESS_DENIED: {
    status: 400,
    title: "The provider did not grant the sign-in",
    description: "The provider's callback carried an error (the user declined, or the provider refused the client).",
  },
  OAUTH_EMAIL_REQUIRED: {
    status: 400,
    title: "The provider gave no email address for this account",
    description: "A first social login whose provider shared no email address, so no account can be made for it (grant the email scope, or make the address visible at the provider).",
  },
  ACCOUNT_EXISTS_LINK_REQUIRED: {
    status: 409,
    title: "An account with this email exists: sign in to it and link the provider from there",
    description: "A first social login whose address belongs to a verified account (and OAUTH_AUTO_LINK_VERIFIED is false). Sign in the usual way and link the provider with mode=link.",
  },
  OAUTH_EMAIL_UNVERIFIED: {
    status: 400,
    title: "The provider did not verify this email address",
    description: "A first social login whose address the provider does not vouch for (no `email_verified`, an unverified GitHub address, Microsoft, or a domain outside OAUTH_<NAME>_EMAIL_DOMAINS): no account is made for it and none is joined. Register or sign in the usual way and link the provider with mode=link.",
  },
  OAUTH_IDENTITY_IN_USE: {
    status: 409,
    title: "This provider account is linked to another user",
    description: "mode=link with a provider account that already signs in to a different user.",
  },
  LAST_SIGN_IN_METHOD: {
    status: 409,
    title: "This is the account's last way to sign in",
    description: "DELETE /auth/me/accounts/{id} or DELETE /auth/passkeys/{id} of the account's last way in: no password, no other linked identity and no other passkey would remain.",
  },
  WEBAUTHN_VERIFICATION_FAILED: {
    status: 400,
    title: "The passkey could not be registered",
    description: "POST /auth/passkeys/register/verify with a response that fails a check (origin not in WEBAUTHN_ORIGINS, another RP ID, no user verification, a bad attestation, a credential already registered). The audit log says which.",
  },
  WEBAUTHN_CHALLENGE_INVALID: {
    status: 400,
    title: "The passkey ceremony has expired or was already used; start again",
    description: "A WebAuthn response whose challenge is unknown, used, older than 5 minutes, or was handed out for another flow (another user's registration, a sign-in, another mfaToken). Ask for new options.",
  },
  OAUTH_PROVIDER_UNAVAILABLE: {
    status: 503,
    title: "The sign-in provider is not reachable; try again later",
    description: "The provider's discovery document, token or user endpoint failed or did not answer within OAUTH_HTTP_TIMEOUT_MS; `Retry-After` is set. Discovery is retried on the next attempt.",
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: "This method is not allowed here",
    description: "A GraphQL mutation sent with GET (mutations are POST only, so a link or an image cannot make one), or /graphql with a method other than GET and POST. `Allow` names the methods.",
  },
  GRAPHQL_VALIDATION_FAILED: {
    status: 400,
    title: "The GraphQL document is not valid",
    description: "/graphql got no query, a document that does not parse, or one that does not validate against the schema (an unknown field, a missing or mistyped variable). `message` says what; `locations` where.",
  },
  GRAPHQL_INTROSPECTION_DISABLED: {
    status: 400,
    title: "Introspection is disabled",
    description: "A GraphQL query for __schema or __type while GRAPHQL_INTROSPECTION is off (the default in production). The schema is published as schema.graphql instead.",
  },
  GRAPHQL_DEPTH_LIMIT: {
    status: 400,
    title: "The GraphQL query is too deep",
    description: "An operation nests selections deeper than GRAPHQL_MAX_DEPTH (10). Refused before anything runs.",
  },
  GRAPHQL_ALIAS_LIMIT: {
    status: 400,
    title: "The GraphQL query has too many aliases",
    description: "An operation uses more than GRAPHQL_MAX_ALIASES (15) aliases: one request must not fan out into many. Refused before anything runs.",
  },
  GRAPHQL_MUTATION_LIMIT: {
    status: 400,
    title: "A GraphQL mutation operation may change one thing",
    description: "A mutation operation selects more than one top-level field (aliases and fragments included). One request takes one action, as on REST, so each action meets its rate limit, lockout and checks on its own. Send one operation per change.",
  },
  GRAPHQL_COST_LIMIT: {
    status: 400,
    title: "The GraphQL query is too costly",
    description: "An operation's estimated cost is above GRAPHQL_MAX_COST (docs/graphql.md says how it is counted). Refused before anything runs.",
  },
  GRAPHQL_TOKEN_LIMIT: {
    status: 400,
    title: "The GraphQL document is too long",
    description: "A document with more than GRAPHQL_MAX_TOKENS tokens; refused while it is parsed.",
  },
  GRAPHQL_DIRECTIVE_LIMIT: {
    status: 400,
    title: "The GraphQL query has too many directives",
    description: "An operation uses more than GRAPHQL_MAX_DIRECTIVES directives. Refused before anything runs.",
  },
  GRAPHQL_PERSISTED_ONLY: {
    status: 400,
    title: "Only persisted operations are accepted",
    description: "With GRAPHQL_PERSISTED_ONLY=true, a request that carries a query document instead of a persisted operation's hash.",
  },
  GRAPHQL_PERSISTED_OPERATION_NOT_FOUND: {
    status: 400,
    title: "No persisted operation has this hash",
    description: "A request names a persisted operation (extensions.persistedQuery.sha256Hash) that GRAPHQL_PERSISTED_OPERATIONS_FILE does not list. Operations are registered in that file, not by clients.",
  },
  INTERNAL_ERROR: {
    status: 500,
    title: "Internal server error",
    description: "A fault in the server; the cause goes to the log with the request id, never to the client.",
  },
} as const satisfies Record<string, { status: number; title: string; description?: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type FieldError = { path: string; message: string };

/** The extension members a problem may carry; each is documented on the Problem schema. */
export type ProblemExtensions = {
  attemptsLeft?: number;
  challenge?: string;
  maxAge?: number;
  /** STEP_UP_REQUIRED for changing second factors: the assurance the session must reach ("aal2", RFC 9470). */
  acrValues?: string;
  /** MFA_REQUIRED: how to finish the sign-in (docs/mfa.md). */
  mfaToken?: string;
  methods?: string[];
  expiresAt?: string;
  /** ACCOUNT_BANNED: when a temporary ban lifts. */
  until?: string;
};

/**
 * What a refusal tells the client about when to come back, as facts: http/on-error.ts is the one place that turns
 * them into Retry-After and RateLimit headers, so no service builds headers.
 */
export type RetryFacts = { retryAfterSeconds?: number; rateLimit?: LimitState };

/**
 * A one-time-code challenge the client continues with after a refusal (the next state after a wrong code, or a
 * right code's challenge handed back under a fresh id): the HTTP layer sets it as the challenge cookie.
 */
export type NextChallenge = { challenge: string; expiresAt: Date };

type AppErrorOptions = {
  message?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  extensions?: ProblemExtensions;
  nextChallenge?: NextChallenge;
  cause?: unknown;
} & RetryFacts;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers only the HTTP layer knows (a cookie set or cleared with the refusal). */
  readonly headers: Record<string, string> | undefined;
  /** Seconds until a retry can succeed (Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  /** The limit that refused the request (RateLimit, RateLimit-Policy). */
  readonly rateLimit: LimitState | undefined;
  /** Extra members of the problem document (RFC 9457 extensions), e.g. attemptsLeft. */
  readonly extensions: ProblemExtensions | undefined;
  /** The challenge to continue with, set as the challenge cookie by the HTTP layer. */
  readonly nextChallenge: NextChallenge | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.rateLimit = options.rateLimit;
    this.extensions = options.extensions;
    this.nextChallenge = options.nextChallenge;
  }

  /** The same error with more response headers (e.g. a cookie cleared on the way out). */
  withHeaders(headers: Record<string, string>): AppError {
    return new AppError(this.code, {
      message: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
      headers: { ...this.headers, ...headers },
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
      ...(this.rateLimit ? { rateLimit: this.rateLimit } : {}),
      ...(this.extensions ? { extensions: this.extensions } : {}),
      ...(this.nextChallenge ? { nextChallenge: this.nextChallenge } : {}),
      cause: this.cause,
    });
  }
}
