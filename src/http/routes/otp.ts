import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { OtpConfig } from "../../config/config.ts";
import { mails } from "../../delivery/templates.ts";
import { AppError, type ErrorCode } from "../../errors.ts";
import { type IssuedChallenge, resendTooSoon } from "../../otp/otp-service.ts";
import { type ChallengeState, stateExpiresAt } from "../../otp/sealed-state.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar, OtpCookie } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AuthResultSchema, Email, jsonBody, jsonResponse, problem } from "../schemas.ts";
import { createSignIn } from "../sign-in.ts";

export type OtpRouteDeps = Pick<
  Services,
  "config" | "otp" | "credentials" | "emailVerification" | "accountClaims" | "sessions" | "accessTokens" | "audit" | "mail"
> & {
  cookies: CookieJar;
  otpCookie: OtpCookie;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

/** After these the presented state is spent or dead: the cookie goes too. */
const CLEARS_COOKIE = new Set<ErrorCode>(["OTP_CHALLENGE_INVALID", "OTP_TOO_MANY_ATTEMPTS", "ACCOUNT_PENDING_DELETION", "EMAIL_NOT_VERIFIED"]);

const Challenge = z.string().openapi({
  description: "The sealed challenge from the last answer (API clients); browsers send the challenge cookie instead",
});
const Purpose = z.enum(["sign-in", "verify-email"]).openapi({
  description: "verify-email needs a signed-in user (bearer or session cookie) and `to` must be that user's email",
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
      403: problem("CSRF_REJECTED; after a correct sign-in code: ACCOUNT_PENDING_DELETION or EMAIL_NOT_VERIFIED"),
      429: problem("RATE_LIMITED: too many codes tried from this client, or for this address across its challenges; with OTP_SIGNUP, too many sign-ups"),
      503: problem("DEPENDENCY_UNAVAILABLE"),
    },
  });
  return { create, resend, verify };
}

/** POST /auth/otp/create, /resend, /verify. */
export function createOtpRoutes(deps: OtpRouteDeps) {
  const { otp, otpCookie, limits, audit, requireAuth } = deps;
  const { signIn } = createSignIn(deps);
  const routes = describeRoutes(deps.config.otp);

  /** The challenge of the request (body, else cookie); a spent or dead one's cookie is cleared on the way out. */
  async function handle<T>(c: Context<AppEnv>, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError && error.code === "OTP_TOO_MANY_ATTEMPTS") await audit.record("otp.burned", {}, auditContext(c));
      if (error instanceof AppError && CLEARS_COOKIE.has(error.code)) throw error.withHeaders({ "Set-Cookie": otpCookie.cleared() });
      throw error;
    }
  }
  const presented = (c: Context<AppEnv>, fromBody: string | undefined) => fromBody ?? otpCookie.read(c);
  /** Requires a signed-in user (as requireAuth does for a whole route) and returns it. */
  async function signedInUser(c: Context<AppEnv>) {
    await requireAuth(c, async () => {});
    return c.get("auth").user;
  }
  function answer(c: Context<AppEnv>, issued: IssuedChallenge) {
    c.header("Set-Cookie", otpCookie.serialize(issued.challenge, new Date(stateExpiresAt(issued.state))), { append: true });
    const { challenge, expiresAt, resendAvailableAt } = issued;
    return c.json({ expiresAt: expiresAt.toISOString(), resendAvailableAt: resendAvailableAt.toISOString(), challenge }, 200);
  }
  const recordSent = (c: Context<AppEnv>, state: ChallengeState, sent: boolean, resend: boolean) =>
    audit.record("otp.sent", { userId: state.userId, payload: { purpose: state.purpose, mailed: sent, resend } }, auditContext(c));

  /**
   * The budgets a new code costs, charged only once the request is known to make one (a switch back to an address
   * the challenge holds costs nothing) and whether or not the address has an account (or the budgets would tell).
   * One code per address per OTP_RESEND_DELAY across challenges: too soon is OTP_RESEND_TOO_SOON, as on resend.
   */
  async function chargeSend(c: Context<AppEnv>, to: string): Promise<void> {
    await limits.consume(c, "otpSendIp", c.get("clientIp"));
    try {
      await limits.consume(c, "otpSendDelay", to);
    } catch (error) {
      if (!(error instanceof AppError && error.code === "RATE_LIMITED")) throw error;
      throw resendTooSoon(Number(error.headers?.["Retry-After"] ?? "1") * 1000);
    }
    await limits.consume(c, "otpSendAddress", to);
  }

  /**
   * The registration budget, for a sign-up by code. Only reached after a right code (checking earlier would tell
   * which addresses have accounts), so a refusal hands back the challenge under a fresh id: the code stays good
   * for a retry after Retry-After.
   */
  async function chargeSignUp(c: Context<AppEnv>, state: ChallengeState): Promise<void> {
    try {
      await limits.consume(c, "registerIp", c.get("clientIp"));
    } catch (error) {
      if (!(error instanceof AppError && error.code === "RATE_LIMITED")) throw error;
      const next = await otp.reissue(state);
      throw new AppError("RATE_LIMITED", {
        headers: { ...error.headers, "Set-Cookie": otpCookie.serialize(next.challenge, new Date(stateExpiresAt(next.state))) },
        extensions: { challenge: next.challenge },
        cause: error.cause,
      });
    }
  }

  /**
   * A correct sign-in code: the address's user (created with OTP_SIGNUP, within the registration budget). An
   * unverified account is claimed: whoever registered the address without proving it loses password and sessions.
   */
  async function signInByCode(c: Context<AppEnv>, to: string, state: ChallengeState) {
    const found = await otp.signInUser(to, () => chargeSignUp(c, state));
    if (found === null) throw new AppError("OTP_CHALLENGE_INVALID");
    if (found.created) {
      await audit.record("user.registered", { userId: found.user.id, payload: { via: "otp" } }, auditContext(c));
      return found.user;
    }
    if (found.user.emailVerified) return found.user;
    const proof = await deps.accountClaims.proveMailbox(found.user.id, to);
    if (proof === null) throw new AppError("OTP_CHALLENGE_INVALID", { message: "The account no longer has this address" });
    if (proof.evicted !== null) {
      const { passwordRemoved, revokedSessionIds } = proof.evicted;
      const payload = { via: "otp", passwordRemoved, revokedSessions: revokedSessionIds.length };
      await audit.record("account.claimed", { userId: proof.user.id, payload }, auditContext(c));
      // The owner may have set that password themselves (before confirming the address, or after changing it).
      if (passwordRemoved || revokedSessionIds.length > 0) deps.mail.enqueue(mails.accountClaimed(to));
    }
    return proof.user;
  }

  return createRouter()
    .openapi(routes.create, async (c) => {
      const body = c.req.valid("json");
      let userId: string | null = null;
      if (body.purpose === "verify-email") {
        const user = await signedInUser(c);
        if (user.email !== body.to) {
          throw new AppError("VALIDATION_FAILED", { errors: [{ path: "to", message: "Must be the signed-in user's email address" }] });
        }
        userId = user.id;
      }
      // A challenge that cannot be continued (spent, damaged, expired) is no reason to refuse a new one.
      const continuing = await otp.open(presented(c, body.challenge)).catch(() => null);
      const issued = await otp.create({ to: body.to, purpose: body.purpose, userId }, continuing, (to) => chargeSend(c, to));
      await recordSent(c, issued.state, issued.sent, false);
      return answer(c, issued);
    })
    .openapi(routes.resend, (c) =>
      handle(c, async () => {
        const state = await otp.open(presented(c, c.req.valid("json")?.challenge));
        const issued = await otp.resend(state, (to) => chargeSend(c, to));
        await recordSent(c, issued.state, issued.sent, true);
        return answer(c, issued);
      }),
    )
    .openapi(routes.verify, (c) =>
      handle(c, async () => {
        const body = c.req.valid("json");
        await limits.consume(c, "otpVerifyIp", c.get("clientIp"));
        const state = await otp.open(presented(c, body.challenge));
        // Before the state is spent: a missing session is no attempt.
        if (state.purpose === "verify-email" && (await signedInUser(c)).id !== state.userId) throw new AppError("OTP_CHALLENGE_INVALID");
        // Wrong codes count against the address, whichever challenge they come with.
        const outcome = await otp.verify(state, body.code, {
          assertAvailable: (to) => limits.assertBelow(c, "otpVerifyAddress", to),
          countWrong: (to) => limits.consume(c, "otpVerifyAddress", to),
        });
        if (outcome.status === "wrong") {
          const { next, attemptsLeft } = outcome;
          await audit.record("otp.failed", { userId: state.userId, payload: { purpose: state.purpose, attemptsLeft } }, auditContext(c));
          throw new AppError("OTP_INVALID_CODE", {
            headers: { "Set-Cookie": otpCookie.serialize(next.challenge, new Date(stateExpiresAt(next.state))) },
            extensions: { attemptsLeft, challenge: next.challenge },
          });
        }
        c.header("Set-Cookie", otpCookie.cleared(), { append: true });
        const { to } = outcome.credential;
        await limits.reset("otpVerifyAddress", to);
        if (state.purpose === "verify-email") {
          const user = await deps.emailVerification.markVerified(state.userId ?? "", to);
          if (user === null) throw new AppError("OTP_CHALLENGE_INVALID", { message: "The address is no longer the user's" });
          await audit.record("otp.verified", { userId: user.id, payload: { purpose: state.purpose } }, auditContext(c));
          await audit.record("email.verified", { userId: user.id, payload: { email: to } }, auditContext(c));
          return c.json({ verified: true as const }, 200);
        }
        const user = await signInByCode(c, to, state);
        await audit.record("otp.verified", { userId: user.id, payload: { purpose: state.purpose } }, auditContext(c));
        deps.credentials.assertMaySignIn(user);
        await audit.record("login.succeeded", { userId: user.id, payload: { via: "otp" } }, auditContext(c));
        return c.json(await signIn(c, user), 200);
      }),
    );
}
