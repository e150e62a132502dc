import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { OtpConfig } from "../../config/config.ts";
import type { IssuedChallenge } from "../../otp/otp-service.ts";
import { stateExpiresAt } from "../../otp/sealed-state.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { createChallengeCookieGuard } from "../challenge-cookie.ts";
import type { CookieJar, OtpCookie } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AuthResultSchema, Email, jsonBody, jsonResponse, problem } from "../schemas.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";

export type OtpRouteDeps = Pick<Services, "config" | "codeChallenges" | "sessions" | "accessTokens"> & {
  cookies: CookieJar;
  otpCookie: OtpCookie;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

const Challenge = z.string().openapi({
  description: "The sealed challenge from the last answer (API clients); browsers send the challenge cookie instead",
});
const Purpose = z.enum(["sign-in", "verify-email", "reauthenticate"]).openapi({
  description:
    "verify-email and reauthenticate need a signed-in user (bearer or session cookie) and `to` must be that user's email; " +
    "a reauthenticate code is answered at POST /auth/reauthenticate",
});
const ChallengeAnswer = jsonResponse(
  z.object({
    expiresAt: z.iso.datetime().openapi({ description: "When the current code stops working" }),
    resendAvailableAt: z.iso.datetime().openapi({ description: "When POST /auth/otp/resend will send a new code" }),
    challenge: z.string().openapi({ description: "The sealed challenge, for API clients; also set as the challenge cookie" }),
  }),
  "The challenge; the challenge cookie is set",
);

function describeRoutes(config: OtpConfig) {
  const post = <P extends string>(path: P, summary: string) => ({ method: "post" as const, path, summary, tags: ["one-time codes"] });
  const create = createRoute({
    ...post("/create", "Mail a one-time code to an address (a new challenge, or another address in the presented one)"),
    request: { body: jsonBody(z.object({ channel: z.literal("email"), to: Email, purpose: Purpose, challenge: Challenge.optional() })) },
    responses: {
      200: ChallengeAnswer,
      400: problem(`VALIDATION_FAILED, INVALID_JSON, or OTP_TOO_MANY_CREDENTIALS (the challenge holds ${config.maxCredentials} addresses)`),
      401: problem("UNAUTHENTICATED: verify-email without a signed-in user"),
      403: problem("CSRF_REJECTED"),
      429: problem(
        `OTP_RESEND_TOO_SOON (Retry-After; one code per address per ${config.resendDelaySeconds} s, across challenges), ` +
          "RATE_LIMITED: too many codes for this address or from this client (Retry-After)",
      ),
      503: problem("DEPENDENCY_UNAVAILABLE: the rate-limit or challenge store is down (Retry-After)"),
    },
  });
  const resend = createRoute({
    ...post("/resend", "Mail a new code for the challenge's current address; the previous code stops working"),
    request: { body: jsonBody(z.object({ challenge: Challenge.optional() }), false) },
    responses: {
      200: ChallengeAnswer,
      400: problem("OTP_CHALLENGE_INVALID (missing, used, damaged: checked first), OTP_EXPIRED (every code of the challenge expired), VALIDATION_FAILED"),
      403: problem("CSRF_REJECTED"),
      429: problem(`OTP_RESEND_TOO_SOON (Retry-After; ${config.resendDelaySeconds} s between codes), OTP_RESEND_LIMIT (${config.maxResends} per challenge), RATE_LIMITED`),
      503: problem("DEPENDENCY_UNAVAILABLE"),
    },
  });
  const verify = createRoute({
    ...post("/verify", "Check a code: sign in, or mark the signed-in user's email verified"),
    request: {
      body: jsonBody(
        z.object({
          code: z
            .string()
            .regex(new RegExp(`^[0-9]{${config.length}}$`), `Must be ${config.length} digits`)
            .openapi({ example: "0".repeat(config.length) }),
          challenge: Challenge.optional(),
        }),
      ),
    },
    responses: {
      200: jsonResponse(
        z.union([AuthResultSchema, z.object({ verified: z.literal(true) })]),
        "sign-in: as POST /auth/login (session and refresh cookies set); verify-email: `{verified: true}`. The challenge cookie is cleared",
      ),
      400: problem(
        `OTP_INVALID_CODE (with attemptsLeft and the next challenge; a new challenge cookie is set), OTP_TOO_MANY_ATTEMPTS ` +
          `(the ${config.maxAttempts}th wrong code burns the challenge), OTP_EXPIRED, OTP_CHALLENGE_INVALID (missing, used, damaged), VALIDATION_FAILED`,
      ),
      401: problem("UNAUTHENTICATED: a verify-email challenge without its signed-in user"),
      403: problem(
        "CSRF_REJECTED; after a correct sign-in code: ACCOUNT_PENDING_DELETION, ACCOUNT_BANNED (`until` when temporary), EMAIL_NOT_VERIFIED, " +
          "or MFA_REQUIRED (the account has a second factor: `mfaToken`, `methods`, `expiresAt`; finish at POST /auth/mfa/verify)",
      ),
      429: problem("RATE_LIMITED: too many codes tried from this client, or for this address across its challenges; with OTP_SIGNUP, too many sign-ups"),
      503: problem("DEPENDENCY_UNAVAILABLE"),
    },
  });
  return { create, resend, verify };
}

/** POST /auth/otp/create, /resend, /verify: the challenge moved between body, cookie and answer; the rules are src/flows/code-challenges.ts's. */
export function createOtpRoutes(deps: OtpRouteDeps) {
  const { codeChallenges, otpCookie, limits, requireAuth } = deps;
  const { respond } = createSignIn(deps);
  const routes = describeRoutes(deps.config.otp);
  const guardChallengeCookie = createChallengeCookieGuard(otpCookie);

  /** The signed-in user, as requireAuth would require it for a whole route. */
  const currentUser = (c: Context<AppEnv>) => async () => {
    await requireAuth(c, async () => {});
    return c.get("auth").user;
  };
  function answer(c: Context<AppEnv>, issued: IssuedChallenge) {
    c.header("Set-Cookie", otpCookie.serialize(issued.challenge, new Date(stateExpiresAt(issued.state))), { append: true });
    const { challenge, expiresAt, resendAvailableAt } = issued;
    return c.json({ expiresAt: expiresAt.toISOString(), resendAvailableAt: resendAvailableAt.toISOString(), challenge }, 200);
  }

  return createRouter()
    .openapi(routes.create, async (c) => {
      const { to, purpose, challenge } = c.req.valid("json");
      const input = { to, purpose, challenge: otpCookie.presented(c, challenge) };
      return answer(c, await codeChallenges.create(input, attemptOf(c, limits), currentUser(c)));
    })
    .openapi(routes.resend, (c) =>
      guardChallengeCookie(async () => {
        const challenge = otpCookie.presented(c, c.req.valid("json")?.challenge);
        return answer(c, await codeChallenges.resend(challenge, attemptOf(c, limits)));
      }),
    )
    .openapi(routes.verify, (c) =>
      guardChallengeCookie(async () => {
        const { code, challenge } = c.req.valid("json");
        const input = { code, challenge: otpCookie.presented(c, challenge) };
        const verified = await codeChallenges.verify(input, attemptOf(c, limits), currentUser(c));
        c.header("Set-Cookie", otpCookie.cleared(), { append: true });
        if (verified.purpose === "verify-email") return c.json({ verified: true as const }, 200);
        return c.json(await respond(c, verified.signedIn), 200);
      }),
    );
}
