import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { requireOwnSession, requireSecondFactorSession } from "../middleware/step-up.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, DigitCode, jsonBody, jsonResponse, problem } from "../schemas.ts";
import { attemptOf } from "../sign-in.ts";

export type MfaRouteDeps = Pick<Services, "mfaEnrolment" | "stepUp"> & { requireAuth: MiddlewareHandler<AppEnv>; limits: RequestLimits };

const STEP_UP =
  "STEP_UP_REQUIRED: the last authentication is older than STEP_UP_MAX_AGE, or (acrValues aal2) the user has a second factor the session did not prove";
const RecoveryCodes = z.array(z.string()).openapi({ description: "Ten single-use codes, shown this once", example: ["7k2m-q9xd-4hta"] });
const CodeBody = z.object({ code: DigitCode.openapi({ description: "The 6-digit code (TOTP) or the mailed code", example: "123456" }) });
const Confirmed = z
  .object({ recoveryCodes: RecoveryCodes.optional() })
  .openapi({ description: "recoveryCodes only when the user had none left (the first factor); the session's amr/aal rise" });

const route = <M extends "get" | "post" | "delete", P extends string>(method: M, path: P, summary: string) => ({
  method,
  path,
  tags: ["mfa"],
  summary,
  security: AUTHENTICATED,
});

const status = createRoute({
  ...route("get", "/", "The caller's second factors, recovery codes left, and the server's MFA_POLICY"),
  responses: {
    200: jsonResponse(
      z.object({
        methods: z.array(
          z.object({
            type: z.enum(["totp", "email", "webauthn"]).openapi({ description: "webauthn: the user's passkeys and security keys (managed under /auth/passkeys)" }),
            createdAt: z.iso.datetime(),
            lastUsedAt: z.iso.datetime().nullable(),
          }),
        ),
        recoveryCodesLeft: z.number().int(),
        policy: z.enum(["optional", "required"]),
      }),
      "Confirmed second factors",
    ),
    401: problem("UNAUTHENTICATED"),
  },
});

const setupTotp = createRoute({
  ...route("post", "/totp/setup", "Start setting up an authenticator app (a sensitive action: needs a recent authentication)"),
  responses: {
    200: jsonResponse(
      z.object({
        secret: z.string().openapi({ description: "Base32, for typing into the app; shown only now" }),
        otpauthUri: z.string().openapi({ description: "otpauth://totp/... with issuer (MFA_ISSUER) and the account's email" }),
        qrCodeSvg: z.string().openapi({ description: "The URI as a QR code, an SVG document" }),
      }),
      "A pending enrolment (a new setup replaces it); confirm it with a code from the app",
    ),
    401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
    403: problem("CSRF_REJECTED, EMAIL_NOT_VERIFIED"),
    409: problem("MFA_ALREADY_ENABLED: delete the app first to replace it"),
  },
});

const confirmTotp = createRoute({
  ...route("post", "/totp/confirm", "Confirm the authenticator app with a code from it"),
  request: { body: jsonBody(CodeBody) },
  responses: {
    200: jsonResponse(Confirmed, "The app is a second factor now"),
    400: problem("MFA_INVALID_CODE, MFA_NO_PENDING_ENROLLMENT, VALIDATION_FAILED, INVALID_JSON"),
    401: problem("UNAUTHENTICATED"),
    403: problem("CSRF_REJECTED, FORBIDDEN_FOR_API_KEY, or FORBIDDEN (an impersonation session)"),
    429: problem("RATE_LIMITED: too many wrong second-factor codes for this account (Retry-After)"),
  },
});

const enableEmail = createRoute({
  ...route("post", "/email/enable", "Start using codes mailed to the verified address as a second factor (needs a recent authentication)"),
  responses: {
    202: jsonResponse(z.object({}).strict(), "A code is mailed to the account's address; confirm with it"),
    401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
    403: problem("CSRF_REJECTED, EMAIL_NOT_VERIFIED"),
    409: problem("MFA_ALREADY_ENABLED, MFA_FACTOR_NOT_SECOND: the account signs in only by mailed codes"),
    429: problem("RATE_LIMITED: the second-factor mail budgets of the account and of the client IP (Retry-After)"),
  },
});

const confirmEmail = createRoute({
  ...route("post", "/email/confirm", "Confirm email codes as a second factor with the mailed code"),
  request: { body: jsonBody(CodeBody) },
  responses: {
    200: jsonResponse(Confirmed, "Email codes are a second factor now"),
    400: problem("MFA_INVALID_CODE, MFA_NO_PENDING_ENROLLMENT (none, or its code expired), VALIDATION_FAILED, INVALID_JSON"),
    401: problem("UNAUTHENTICATED"),
    403: problem("CSRF_REJECTED, FORBIDDEN_FOR_API_KEY, or FORBIDDEN (an impersonation session)"),
    409: problem("MFA_FACTOR_NOT_SECOND: the account signs in only by mailed codes"),
    429: problem("RATE_LIMITED: too many wrong second-factor codes for this account (Retry-After)"),
  },
});

const removeFactor = (type: "totp" | "email") =>
  createRoute({
    ...route("delete", `/${type}`, `Remove ${type === "totp" ? "the authenticator app" : "email codes"} as a second factor (needs a recent authentication)`),
    responses: {
      204: { description: "Removed (the last factor takes the recovery codes with it); the owner is mailed" },
      401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
      403: problem("CSRF_REJECTED"),
      404: problem("NOT_FOUND: the user has no such factor"),
      409: problem("MFA_REQUIRED_BY_POLICY: MFA_POLICY=required and it is the last one"),
    },
  });

const regenerate = createRoute({
  ...route("post", "/recovery-codes", "Replace the recovery codes (needs a recent authentication)"),
  responses: {
    200: jsonResponse(z.object({ recoveryCodes: RecoveryCodes }), "Ten new codes; the old ones stop working"),
    401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
    403: problem("CSRF_REJECTED"),
    409: problem("MFA_NOT_ENABLED"),
  },
});

/** GET /auth/mfa and the enrolment routes under it: each validates, calls the enrolment service, shapes the answer. */
export function createMfaRoutes({ mfaEnrolment, stepUp, requireAuth, limits }: MfaRouteDeps) {
  const recent = requireSecondFactorSession(stepUp);
  // Confirming needs no recent authentication (starting did), but only the user's own session: the confirming
  // session gains the factor and is handed the recovery codes.
  const own = requireOwnSession(stepUp);
  return createRouter()
    .openapi({ ...status, middleware: [requireAuth] }, async (c) => c.json(await mfaEnrolment.status(c.get("auth").user), 200))
    .openapi({ ...setupTotp, middleware: [requireAuth, recent] }, async (c) => c.json(await mfaEnrolment.setupTotp(c.get("auth").user), 200))
    .openapi({ ...confirmTotp, middleware: [requireAuth, own] }, async (c) =>
      c.json(await mfaEnrolment.confirmTotp(c.get("auth"), c.req.valid("json").code, attemptOf(c, limits)), 200),
    )
    .openapi({ ...removeFactor("totp"), middleware: [requireAuth, recent] }, async (c) => {
      await mfaEnrolment.remove(c.get("auth").user, "totp", attemptOf(c, limits));
      return c.body(null, 204);
    })
    .openapi({ ...enableEmail, middleware: [requireAuth, recent] }, async (c) => {
      await mfaEnrolment.enableEmail(c.get("auth").user, attemptOf(c, limits));
      return c.json({}, 202);
    })
    .openapi({ ...confirmEmail, middleware: [requireAuth, own] }, async (c) =>
      c.json(await mfaEnrolment.confirmEmail(c.get("auth"), c.req.valid("json").code, attemptOf(c, limits)), 200),
    )
    .openapi({ ...removeFactor("email"), middleware: [requireAuth, recent] }, async (c) => {
      await mfaEnrolment.remove(c.get("auth").user, "email", attemptOf(c, limits));
      return c.body(null, 204);
    })
    .openapi({ ...regenerate, middleware: [requireAuth, recent] }, async (c) =>
      c.json(await mfaEnrolment.regenerateRecoveryCodes(c.get("auth").user, attemptOf(c, limits)), 200),
    );
}
