import { z } from "zod";
import { seconds } from "./fields.ts";

/** Access tokens, sessions and their refresh tokens, step-up. */
export const sessionVariables = {
  ACCESS_TOKEN_TTL: seconds(900).describe("Lifetime of an access token (JWT), in seconds."),
  REFRESH_TOKEN_TTL: seconds(30 * 86_400).describe("Idle lifetime in seconds: a session and its refresh token expire this long after login or the last refresh."),
  SESSION_MAX_AGE: seconds(90 * 86_400).describe("Absolute session lifetime in seconds: no refresh extends a session past it. At least REFRESH_TOKEN_TTL."),
  JWT_AUDIENCE: z.string().trim().min(1).default("servauth").describe("The aud claim of access tokens, checked on verification."),
  /** Validating a session never writes per request. */
  SESSION_ACTIVITY_RESOLUTION: seconds(60).describe("A session's lastActiveAt is written at most this often (seconds)."),
  REFRESH_GRACE_SECONDS: z
    .coerce.number()
    .int()
    .min(0)
    .max(300)
    .default(30)
    .describe("A replaced refresh token presented again within this many seconds (a retried request), while its successor is unused, gets that same successor again instead of counting as reuse (which revokes the session). 0: no grace, every replay is reuse."),
  MAX_SESSIONS_PER_USER: z.coerce.number().int().min(1).max(1000).default(10).describe("A login beyond this many live sessions ends the user's oldest ones."),
  STEP_UP_MAX_AGE: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe(
      "Seconds a sign-in or re-authentication counts as recent for sensitive actions (password or email change, account deletion, ending the other sessions); " +
        "an older session gets 401 STEP_UP_REQUIRED and re-authenticates at POST /auth/reauthenticate. Default 300: raise it for fewer prompts, lower it for stricter accounts.",
    ),
};
