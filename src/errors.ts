/**
 * The one error type. Everything a client can cause is an AppError with a stable code from this catalogue;
 * http/on-error.ts is the only place that turns it into a response (RFC 9457 problem+json).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: "The request is not valid" },
  INVALID_JSON: { status: 400, title: "The request body is not valid JSON" },
  PASSWORD_TOO_COMMON: { status: 400, title: "The password is too common or too easy to guess" },
  UNAUTHENTICATED: { status: 401, title: "Authentication is required" },
  INVALID_CREDENTIALS: { status: 401, title: "The credentials are not valid" },
  INVALID_REFRESH_TOKEN: { status: 401, title: "The refresh token is not valid" },
  REFRESH_TOKEN_REUSED: { status: 401, title: "The refresh token was already used; the session is revoked" },
  INVALID_TOKEN: { status: 400, title: "The token is not valid: unknown, used or expired" },
  OTP_INVALID_CODE: { status: 400, title: "The code is not correct" },
  OTP_EXPIRED: { status: 400, title: "The code has expired; ask for a new one" },
  OTP_CHALLENGE_INVALID: { status: 400, title: "The challenge is not valid: unknown, already used or damaged" },
  OTP_TOO_MANY_ATTEMPTS: { status: 400, title: "Too many wrong codes; the challenge is burned, start a new one" },
  OTP_TOO_MANY_CREDENTIALS: { status: 400, title: "The challenge holds as many addresses as it may" },
  CSRF_REJECTED: { status: 403, title: "The request origin is not allowed" },
  EMAIL_NOT_VERIFIED: { status: 403, title: "The email address must be verified first" },
  ACCOUNT_PENDING_DELETION: { status: 403, title: "The account is scheduled for deletion" },
  NOT_FOUND: { status: 404, title: "Not found" },
  EMAIL_TAKEN: { status: 409, title: "The email address is already registered" },
  USERNAME_TAKEN: { status: 409, title: "The username is already taken" },
  IP_BLOCKED: { status: 403, title: "Requests from this address are not accepted" },
  RATE_LIMITED: { status: 429, title: "Too many requests; try again later" },
  OTP_RESEND_TOO_SOON: { status: 429, title: "A new code cannot be sent yet" },
  OTP_RESEND_LIMIT: { status: 429, title: "No more codes can be sent for this challenge; start a new one" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "The request body is too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "The request body must be application/json" },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: "A dependency is unavailable" },
  INTERNAL_ERROR: { status: 500, title: "Internal server error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type FieldError = { path: string; message: string };

/** The extension members a problem may carry; each is documented on the Problem schema. */
export type ProblemExtensions = { attemptsLeft?: number; challenge?: string };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;
  /** Extra members of the problem document (RFC 9457 extensions), e.g. attemptsLeft. */
  readonly extensions: ProblemExtensions | undefined;

  constructor(
    code: ErrorCode,
    options: {
      message?: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
      extensions?: ProblemExtensions;
      cause?: unknown;
    } = {},
  ) {
    super(options.message ?? ERROR_CODES[code].title, { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  /** The same error with more response headers (e.g. a cookie cleared on the way out). */
  withHeaders(headers: Record<string, string>): AppError {
    return new AppError(this.code, {
      message: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
      headers: { ...this.headers, ...headers },
      ...(this.extensions ? { extensions: this.extensions } : {}),
      cause: this.cause,
    });
  }
}
