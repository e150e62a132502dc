import { z } from "@hono/zod-openapi";
import { normalizePassword, PASSWORD_MAX_LENGTH, PASSWORD_MAX_RAW_UNITS, PASSWORD_MIN_LENGTH_FLOOR } from "../auth/password-policy.ts";
import { ERROR_CODES } from "../errors.ts";

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
  })
  .openapi("Problem");

/** The response entry for a problem+json answer with the given status. */
export function problem(description: string) {
  return { description, content: { "application/problem+json": { schema: ProblemSchema } } };
}

export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { required, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** OpenAPI security requirement of routes that need a session: a bearer access token or the session cookie. */
export const AUTHENTICATED: Record<string, string[]>[] = [{ bearer: [] }, { sessionCookie: [] }];
