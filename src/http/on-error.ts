import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";
import { headersFor } from "../abuse/limiter.ts";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from "../errors.ts";
import { OAuthError } from "../machine/oauth-error.ts";
import type { Logger } from "../observability/logger.ts";
import type { AppEnv } from "./app-env.ts";

/** Hono raises these itself (JSON parser, media-type gate, body limit); every other client error is an AppError. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: "INVALID_JSON",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

export function problemResponse(c: Context<AppEnv>, error: AppError): Response {
  const body = {
    type: `urn:servauth:error:${error.code}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    ...(error.message !== ERROR_CODES[error.code].title ? { detail: error.message } : {}),
    code: error.code,
    requestId: c.get("requestId"),
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extensions,
  };
  const headers = new Headers({ "Content-Type": "application/problem+json", ...refusalHeaders(error) });
  // A failed attempt on a limited route still tells the client where it stands.
  const limit = c.get("rateLimit");
  if (limit !== undefined && !headers.has("RateLimit")) for (const [name, value] of Object.entries(headersFor(limit))) headers.set(name, value);
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** The headers an error's facts become: Retry-After, RateLimit, RFC 9470's step-up challenge, and the HTTP layer's own. */
export function refusalHeaders(error: AppError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterSeconds !== undefined) headers["Retry-After"] = String(error.retryAfterSeconds);
  if (error.rateLimit !== undefined) Object.assign(headers, headersFor(error.rateLimit));
  // The challenge a client (or an OAuth-aware library) recognises as "sign in again, recently enough".
  if (error.code === "STEP_UP_REQUIRED") headers["WWW-Authenticate"] = stepUpChallenge(error.extensions?.maxAge, error.extensions?.acrValues);
  return headers;
}

function stepUpChallenge(maxAge: number | undefined, acrValues: string | undefined): string {
  const description = acrValues === undefined ? "A more recent authentication is required" : "A second factor is required";
  const parameters = ['error="insufficient_user_authentication"', `error_description="${description}"`];
  if (acrValues !== undefined) parameters.push(`acr_values="${acrValues}"`);
  if (maxAge !== undefined) parameters.push(`max_age=${maxAge}`);
  return `Bearer ${parameters.join(", ")}`;
}

/**
 * RFC 6749 section 5.2's answer for the /oauth2/* endpoints. invalid_client carries `WWW-Authenticate: Basic`
 * (required when the client tried the Authorization header, and harmless otherwise).
 */
function oauthErrorResponse(error: OAuthError): Response {
  const headers = new Headers({ "Content-Type": "application/json", "Cache-Control": "no-store", Pragma: "no-cache" });
  if (error.status === 401) headers.set("WWW-Authenticate", 'Basic realm="servauth", charset="UTF-8"');
  return new Response(JSON.stringify({ error: error.error, error_description: error.message }), { status: error.status, headers });
}

/** The only place errors become responses. Unknown errors are logged in full and answered with a bare 500. */
export function createErrorHandler(logger: Logger) {
  return (error: Error, c: Context<AppEnv>): Response => {
    if (error instanceof AppError) return problemResponse(c, error);
    if (error instanceof OAuthError) return oauthErrorResponse(error);
    if (error instanceof HTTPException) {
      const code = HTTP_EXCEPTION_CODES[error.status];
      if (code) return problemResponse(c, new AppError(code));
    }
    if (isDatabaseUnavailable(error)) {
      logger.error({ err: error, requestId: c.get("requestId") }, "database unavailable");
      return problemResponse(c, new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5 }));
    }
    logger.error({ err: error, requestId: c.get("requestId"), method: c.req.method, path: c.req.path }, "unhandled error");
    return problemResponse(c, new AppError("INTERNAL_ERROR"));
  };
}

/** One entry per bad field: the first problem zod found with it (later ones are usually its consequences). */
export function validationError(error: z.ZodError): AppError {
  const byPath = new Map<string, FieldError>();
  for (const issue of error.issues) {
    const path = issue.path.map(String).join(".") || "(body)";
    if (!byPath.has(path)) byPath.set(path, { path, message: issue.message });
  }
  return new AppError("VALIDATION_FAILED", { errors: [...byPath.values()] });
}
