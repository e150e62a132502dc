import { z } from "@hono/zod-openapi";
import { normalizePassword, PASSWORD_MAX_LENGTH, PASSWORD_MAX_RAW_UNITS, PASSWORD_MIN_LENGTH_FLOOR } from "../auth/password-policy.ts";
import { ERROR_CODES, type ErrorCode } from "../errors.ts";
import { AUTH_METHODS, type Assurance } from "../sessions/assurance.ts";
import type { SessionListing } from "../sessions/session-service.ts";

/** Trimmed and lower-cased before validation, so " Ann@Example.com " and "ann@example.com" are one account. */
export const Email = z.string().trim().toLowerCase().max(255).pipe(z.email()).openapi({ example: "ann@example.com" });
/**
 * Lone UTF-16 surrogates are refused: encoding would turn each into U+FFFD, so different inputs would hash alike.
 * (\p{Cs} matches only unpaired surrogates in a /u regex; a paired one reads as a single code point.)
 */
const wellFormed = (value: string) => !/\p{Cs}/u.test(value);
const WELL_FORMED = { message: "Must be valid Unicode text" };
const TOO_LONG = `Must be at most ${PASSWORD_MAX_LENGTH} characters`;
/**
 * Handlers receive the NFKC form, the one that is checked and hashed. Lengths are code points of that form (zod
 * counts code points); the configured PASSWORD_MIN_LENGTH above the floor and the list checks are the password
 * policy's. The bound on the raw text only stops huge inputs before they are normalized.
 */
export const NewPassword = z
  .string()
  .max(PASSWORD_MAX_RAW_UNITS, TOO_LONG)
  .refine(wellFormed, WELL_FORMED)
  .transform(normalizePassword)
  .pipe(z.string().min(PASSWORD_MIN_LENGTH_FLOOR, `Must be at least ${PASSWORD_MIN_LENGTH_FLOOR} characters`).max(PASSWORD_MAX_LENGTH, TOO_LONG))
  .openapi({
    type: "string",
    minLength: PASSWORD_MIN_LENGTH_FLOOR,
    maxLength: PASSWORD_MAX_LENGTH,
    description: "Characters are counted after NFKC normalization; PASSWORD_MIN_LENGTH may raise the minimum",
    example: "correct horse battery staple",
  });
/**
 * Login accepts exactly the lengths a password can be set with (counted the same way, after NFKC), so nobody can
 * post megabytes into argon2 and no password that was accepted is refused here.
 */
export const PresentedPassword = z
  .string()
  .min(1)
  .max(PASSWORD_MAX_RAW_UNITS, TOO_LONG)
  .refine(wellFormed, WELL_FORMED)
  .transform(normalizePassword)
  .pipe(z.string().max(PASSWORD_MAX_LENGTH, TOO_LONG))
  .openapi({ type: "string", minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
/**
 * Free text from a client (a reason, a search prefix, a filter): trimmed, no control characters and no lone
 * surrogates. PostgreSQL's text and jsonb refuse a NUL and jsonb a lone surrogate, so either would fail the
 * write (an audit event lost) or the query (a 500) rather than be stored.
 */
export const plainText = (maxLength: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(maxLength)
    .refine((value) => !/\p{Cc}/u.test(value), { message: "Must not contain control characters" })
    .refine(wellFormed, WELL_FORMED);
/** Tokens arrive from mailed links: opaque, URL-safe, bounded. Anything else cannot be one of ours. */
/**
 * A second-factor code as typed: digits (an app's 6-digit code, a mailed code of OTP_LENGTH), or a recovery code
 * (twelve letters and digits, in groups of four with optional dashes or spaces). ASCII only: a full-width or
 * accented "digit" never reaches a comparison.
 */
const DIGITS = /^[0-9]{6,10}$/;
const RECOVERY_CODE = /^[0-9A-Za-z]{4}[ -]?[0-9A-Za-z]{4}[ -]?[0-9A-Za-z]{4}$/;
export const DigitCode = z.string().trim().regex(DIGITS, "Must be 6 to 10 digits");
export const SecondFactorCode = z
  .string()
  .trim()
  .refine((code) => DIGITS.test(code) || RECOVERY_CODE.test(code), "Must be the app's or the mailed code (digits) or a recovery code");

export const LinkToken = z.string().min(16).max(256).regex(/^[A-Za-z0-9_-]+$/, "Not a token");
export const Username = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{3,32}$/, "3 to 32 characters from A-Z, a-z, 0-9, '_', '.', '-'")
  .openapi({ example: "ann_42" });

export const PublicUserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    username: z.string().nullable(),
    emailVerified: z.boolean(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("User");

/** How a session was authenticated: shown by GET /auth/me and GET /auth/sessions, carried by access tokens. */
export const AssuranceFields = {
  amr: z.array(z.enum(AUTH_METHODS)).openapi({
    description: "Authentication methods in the order used (RFC 8176 names; `email`: a code mailed to the address; `mfa`: two kinds of factor)",
    example: ["pwd"],
  }),
  aal: z.union([z.literal(1), z.literal(2)]).openapi({ description: "Assurance level: 1 for one factor, 2 for two distinct kinds" }),
  authTime: z.iso.datetime().openapi({ description: "When the user last proved a factor (sign-in or POST /auth/reauthenticate)" }),
};

/** The assurance fields of a session as JSON. */
export function assuranceJson(session: Assurance) {
  return { amr: session.amr, aal: session.aal, authTime: session.authTime.toISOString() };
}

/** A live session as its owner (GET /auth/sessions) and administrators see it. */
export const SessionFields = {
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  lastActiveAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  ipAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  ...AssuranceFields,
  impersonated: z.boolean().openapi({ description: "Opened by an administrator acting as the user (POST /auth/admin/users/{id}/impersonate)" }),
};

/** A session listing as JSON (the SessionFields). */
export function sessionJson(session: SessionListing) {
  return {
    id: session.id,
    createdAt: session.createdAt.toISOString(),
    lastActiveAt: session.lastActiveAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    ipAddress: session.ipAddress,
    userAgent: session.userAgent,
    ...assuranceJson(session),
    impersonated: session.impersonatorId !== null,
  };
}

export const TokenPairSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ description: "Access token lifetime in seconds" }),
  })
  .openapi("TokenPair");

export const AuthResultSchema = TokenPairSchema.extend({ user: PublicUserSchema }).openapi("AuthResult");

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    attemptsLeft: z.number().int().optional().openapi({ description: "OTP_INVALID_CODE only: wrong codes the challenge still takes" }),
    challenge: z.string().optional().openapi({ description: "OTP_INVALID_CODE only: the challenge to send with the next attempt" }),
    maxAge: z.number().int().optional().openapi({ description: "STEP_UP_REQUIRED only: how recent (seconds) the last authentication must be" }),
    acrValues: z
      .string()
      .optional()
      .openapi({ description: "STEP_UP_REQUIRED for changing second factors: the session must prove the second factor too (\"aal2\"; re-authenticate with it)" }),
    mfaToken: z.string().optional().openapi({ description: "MFA_REQUIRED only: the single-use token POST /auth/mfa/verify finishes the sign-in with" }),
    methods: z
      .array(z.enum(["totp", "email", "recovery_code"]))
      .optional()
      .openapi({ description: "MFA_REQUIRED only: the second factors that can finish this sign-in" }),
    expiresAt: z.iso.datetime().optional().openapi({ description: "MFA_REQUIRED only: when the mfaToken expires" }),
    until: z.iso.datetime().optional().openapi({ description: "ACCOUNT_BANNED only: when a temporary ban lifts (absent for a permanent ban)" }),
  })
  .openapi("Problem");

const CATALOGUE_CODES = new RegExp(`\\b(?:${Object.keys(ERROR_CODES).join("|")})\\b`, "g");

/** Members beyond the common ones that a code's answers carry, so its example shows them. */
const EXAMPLE_EXTRAS: Partial<Record<ErrorCode, Record<string, unknown>>> = {
  VALIDATION_FAILED: { errors: [{ path: "email", message: "Invalid email address" }] },
  PASSWORD_TOO_COMMON: {
    detail: "The password is one of the most common passwords and is guessed within seconds. Choose another one; a few unrelated words make a strong password that is easy to remember.",
    errors: [{ path: "password", message: "The password is one of the most common passwords and is guessed within seconds." }],
  },
  OTP_INVALID_CODE: { attemptsLeft: 4, challenge: "eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoi…" },
  MFA_INVALID_CODE: { attemptsLeft: 4 },
  MFA_REQUIRED: { mfaToken: "3q2-7wVh0k1mYc9hFJ8dT2Lr0eXU6bq5sN4aPzGiKoM", methods: ["totp", "email", "recovery_code"], expiresAt: "2026-06-01T12:05:00.000Z" },
};

function exampleProblem(code: ErrorCode) {
  const { status, title } = ERROR_CODES[code];
  return { type: `urn:servauth:error:${code}`, title, status, code, requestId: "5f0c6c1e-8d3a-4a57-9a43-2f7c1b9e4d21", ...EXAMPLE_EXTRAS[code] };
}

/**
 * The response entry for a problem+json answer. The description names the codes the route answers with this status;
 * each becomes an example, so the reference shows real bodies instead of one made up from the Problem schema.
 */
export function problem(description: string) {
  const codes = [...new Set(description.match(CATALOGUE_CODES) ?? [])] as ErrorCode[];
  const examples = Object.fromEntries(codes.map((code) => [code, { summary: code, value: exampleProblem(code) }]));
  return { description, content: { "application/problem+json": { schema: ProblemSchema, examples } } };
}

export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { required, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** OpenAPI security requirement of routes that need a session: a bearer access token or the session cookie. */
export const AUTHENTICATED: Record<string, string[]>[] = [{ bearer: [] }, { sessionCookie: [] }];
