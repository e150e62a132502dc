import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { OtpConfig } from "../../config/config.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { createChallengeCookieGuard } from "../challenge-cookie.ts";
import type { CookieJar, OtpCookie } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, jsonBody, jsonResponse, PresentedPassword, problem, SecondFactorCode } from "../schemas.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";

export type ReauthenticateRouteDeps = Pick<Services, "config" | "stepUp" | "sessions" | "accessTokens"> & {
  cookies: CookieJar;
  otpCookie: OtpCookie;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

function describeRoute(config: OtpConfig) {
  const byPassword = z.object({ password: PresentedPassword }).openapi("PasswordReauthentication");
  const byCode = z
    .object({
      method: z.literal("email"),
      code: z
        .string()
        .regex(new RegExp(`^[0-9]{${config.length}}$`), `Must be ${config.length} digits`)
        .openapi({ description: "The code mailed by POST /auth/otp/create with purpose reauthenticate" }),
      challenge: z.string().optional().openapi({ description: "The sealed challenge (API clients); browsers send the challenge cookie" }),
    })
    .openapi("EmailCodeReauthentication");
  const bySecondFactor = z
    .object({
      method: z.enum(["totp", "recovery_code"]),
      code: SecondFactorCode.openapi({ description: "The authenticator app's code, or a recovery code (then used up)" }),
    })
    .openapi("SecondFactorReauthentication");
  return createRoute({
    method: "post",
    path: "/reauthenticate",
    tags: ["auth"],
    summary: "Prove a factor again (step-up): the session's authTime moves to now",
    description:
      "With the password, or with a code mailed to the account's address (POST /auth/otp/create with purpose `reauthenticate`), " +
      "the way for an account without a password, or with a second factor (the app's code, or a recovery code). Sensitive actions then pass for STEP_UP_MAX_AGE seconds. The refresh token " +
      "and session cookie stay as they are; the answer's access token carries the new auth_time.",
    security: AUTHENTICATED,
    request: { body: jsonBody(z.union([byPassword, byCode, bySecondFactor])) },
    responses: {
      200: jsonResponse(
        z.object({
          accessToken: z.string(),
          tokenType: z.literal("Bearer"),
          expiresIn: z.number().int().openapi({ description: "Access token lifetime in seconds" }),
          authTime: z.iso.datetime().openapi({ description: "The session's new authTime (the token's auth_time)" }),
        }),
        "Re-authenticated",
      ),
      400: problem(
        "VALIDATION_FAILED, INVALID_JSON; by code: OTP_INVALID_CODE (attemptsLeft, next challenge), OTP_TOO_MANY_ATTEMPTS, OTP_EXPIRED, OTP_CHALLENGE_INVALID; by second factor: MFA_INVALID_CODE (wrong, replayed or used)",
      ),
      401: problem("UNAUTHENTICATED, or INVALID_CREDENTIALS (wrong password; counts toward the account's login lockout)"),
      403: problem("CSRF_REJECTED, or FORBIDDEN: an impersonation session cannot re-authenticate"),
      429: problem("RATE_LIMITED: the account is locked out after too many wrong passwords or codes, or second-factor codes (Retry-After)"),
    },
  });
}

/** POST /auth/reauthenticate. */
export function createReauthenticateRoutes(deps: ReauthenticateRouteDeps) {
  const { otpCookie, stepUp, limits } = deps;
  const { accessTokenFor } = createSignIn(deps);
  const guardChallengeCookie = createChallengeCookieGuard(otpCookie);

  return createRouter().openapi({ ...describeRoute(deps.config.otp), middleware: [deps.requireAuth] }, (c) =>
    guardChallengeCookie(async () => {
      const body = c.req.valid("json");
      const byMailedCode = "method" in body && body.method === "email";
      const proof = byMailedCode ? { ...body, challenge: otpCookie.presented(c, body.challenge) } : body;
      const session = await stepUp.reauthenticate(c.get("auth"), proof, attemptOf(c, limits));
      if (byMailedCode) c.header("Set-Cookie", otpCookie.cleared(), { append: true });
      const accessToken = await accessTokenFor(session, c.get("auth").user);
      return c.json({ accessToken, tokenType: "Bearer" as const, expiresIn: deps.accessTokens.ttlSeconds, authTime: session.authTime.toISOString() }, 200);
    }),
  );
}
