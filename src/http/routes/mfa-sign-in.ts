import { createRoute, z } from "@hono/zod-openapi";
import type { Services } from "../../services.ts";
import type { CookieJar } from "../cookies.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AuthResultSchema, jsonBody, jsonResponse, problem, SecondFactorCode } from "../schemas.ts";
import { AssertionResponse, CeremonyOptions } from "../webauthn-schemas.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";

export type MfaSignInRouteDeps = Pick<Services, "mfaSignIn" | "sessions" | "accessTokens"> & { cookies: CookieJar; limits: RequestLimits };

const MfaToken = z.string().min(16).max(128).regex(/^[A-Za-z0-9_-]+$/, "Not an mfaToken").openapi({ description: "From the MFA_REQUIRED answer" });

const challenge = createRoute({
  method: "post",
  path: "/challenge",
  tags: ["mfa"],
  summary: "Mail a code that finishes the sign-in (when `methods` offered email)",
  request: { body: jsonBody(z.object({ mfaToken: MfaToken, method: z.literal("email") })) },
  responses: {
    202: jsonResponse(z.object({}).strict(), "A code is mailed to the account's address; a new one replaces the previous"),
    400: problem("MFA_CHALLENGE_INVALID (unknown, used, expired or burned token; or email not offered), VALIDATION_FAILED, INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
    429: problem("RATE_LIMITED: the second-factor mail budgets of the account, the mfaToken and the client IP (Retry-After)"),
  },
});

const verify = createRoute({
  method: "post",
  path: "/verify",
  tags: ["mfa"],
  summary: "Finish a sign-in that answered MFA_REQUIRED with a second factor",
  request: {
    body: jsonBody(
      z.discriminatedUnion("method", [
        z.object({
          mfaToken: MfaToken,
          method: z.enum(["totp", "recovery_code", "email"]),
          code: SecondFactorCode.openapi({ description: "The app's 6-digit code, a recovery code (dashes optional) or the mailed code" }),
        }),
        z.object({
          mfaToken: MfaToken,
          method: z.literal("webauthn"),
          response: AssertionResponse.openapi({ description: "The assertion over POST /auth/mfa/webauthn/options' challenge" }),
        }),
      ]),
    ),
  },
  responses: {
    200: jsonResponse(AuthResultSchema, "Signed in, as POST /auth/login answers (session cookie set); the session has both factors"),
    400: problem(
      "MFA_INVALID_CODE: a wrong, replayed or used code, or a passkey assertion that fails (`attemptsLeft`: what the mfaToken still takes); MFA_CHALLENGE_INVALID (sign in again); WEBAUTHN_CHALLENGE_INVALID (ask for new options); VALIDATION_FAILED, INVALID_JSON",
    ),
    403: problem("CSRF_REJECTED; after a right code: ACCOUNT_PENDING_DELETION"),
    429: problem("RATE_LIMITED: too many wrong second-factor codes for the account, or attempts from this address (Retry-After)"),
  },
});

const webauthnOptions = createRoute({
  method: "post",
  path: "/webauthn/options",
  tags: ["mfa"],
  summary: "Options to finish the sign-in with a passkey or security key (when `methods` offered webauthn)",
  request: { body: jsonBody(z.object({ mfaToken: MfaToken })) },
  responses: {
    200: jsonResponse(
      CeremonyOptions("SecondFactorRequestOptions", "For navigator.credentials.get(): the user's own credentials in allowCredentials; the challenge is bound to this mfaToken, good for 5 minutes, once"),
      "Request options",
    ),
    400: problem("MFA_CHALLENGE_INVALID (unknown, used, expired or burned token; or the user has no passkey), VALIDATION_FAILED, INVALID_JSON"),
    403: problem("CSRF_REJECTED"),
    429: problem("RATE_LIMITED: too many passkey attempts from this address (Retry-After)"),
  },
});

/** POST /auth/mfa/challenge, /auth/mfa/webauthn/options and /auth/mfa/verify: public, the mfaToken is the credential. */
export function createMfaSignInRoutes(deps: MfaSignInRouteDeps) {
  const { mfaSignIn, limits } = deps;
  const { respond } = createSignIn(deps);
  return createRouter()
    .openapi(challenge, async (c) => {
      await mfaSignIn.sendEmailCode(c.req.valid("json").mfaToken, attemptOf(c, limits));
      return c.json({}, 202);
    })
    .openapi(webauthnOptions, async (c) => c.json(await mfaSignIn.webauthnOptions(c.req.valid("json").mfaToken, attemptOf(c, limits)), 200))
    .openapi(verify, async (c) => {
      const { mfaToken, ...proof } = c.req.valid("json");
      const signedIn = await mfaSignIn.verify(mfaToken, proof, attemptOf(c, limits));
      return c.json(await respond(c, signedIn), 200);
    });
}
