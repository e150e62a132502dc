import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import { requireOwnSession, requireSecondFactorSession } from "../middleware/step-up.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AUTHENTICATED, AuthResultSchema, jsonBody, jsonResponse, problem } from "../schemas.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";
import { AssertionResponse, AttestationResponse, CeremonyOptions, PasskeyName, PasskeySchema, passkeyJson } from "../webauthn-schemas.ts";

export type PasskeyRouteDeps = Pick<Services, "passkeyRegistration" | "passkeyManagement" | "passkeySignIn" | "stepUp" | "sessions" | "accessTokens"> & {
  cookies: CookieJar;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
};

const STEP_UP = "STEP_UP_REQUIRED: the last authentication is older than STEP_UP_MAX_AGE, or (acrValues aal2) the user has a second factor the session did not prove";
const IdParam = z.object({ id: z.string().max(64).openapi({ format: "uuid" }) });
const EmptyBody = jsonBody(z.object({}).strict(), false);
const route = <M extends "get" | "post" | "patch" | "delete", P extends string>(method: M, path: P, summary: string, signedIn = true) => ({
  method,
  path,
  tags: ["passkeys"],
  summary,
  ...(signedIn ? { security: AUTHENTICATED } : {}),
});

const registerOptions = createRoute({
  ...route("post", "/register/options", "Options to create a passkey for the caller (a sensitive action: needs a recent authentication)"),
  request: { body: EmptyBody },
  responses: {
    200: jsonResponse(CeremonyOptions("PasskeyCreationOptions", "For navigator.credentials.create(): resident key and user verification required, the caller's passkeys excluded; the challenge is good for 5 minutes, once"), "Creation options"),
    401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
    403: problem("CSRF_REJECTED"),
  },
});

const registerVerify = createRoute({
  ...route("post", "/register/verify", "Add the passkey the browser created"),
  request: { body: jsonBody(z.object({ response: AttestationResponse, name: PasskeyName.optional() })) },
  responses: {
    201: jsonResponse(z.object({ passkey: PasskeySchema }), "Added; the owner is mailed"),
    400: problem("WEBAUTHN_VERIFICATION_FAILED (origin, RP ID, user verification, attestation, or a credential registered already), WEBAUTHN_CHALLENGE_INVALID, VALIDATION_FAILED, INVALID_JSON"),
    401: problem("UNAUTHENTICATED"),
    403: problem("FORBIDDEN_FOR_API_KEY (passkeys are managed from a signed-in session), FORBIDDEN (an impersonation session), or CSRF_REJECTED"),
  },
});

const list = createRoute({
  ...route("get", "/", "The caller's passkeys"),
  responses: { 200: jsonResponse(z.object({ passkeys: z.array(PasskeySchema) }), "Oldest first"), 401: problem("UNAUTHENTICATED") },
});

const rename = createRoute({
  ...route("patch", "/{id}", "Rename one of the caller's passkeys"),
  request: { params: IdParam, body: jsonBody(z.object({ name: PasskeyName })) },
  responses: {
    200: jsonResponse(z.object({ passkey: PasskeySchema }), "Renamed"),
    400: problem("VALIDATION_FAILED, INVALID_JSON"),
    401: problem("UNAUTHENTICATED"),
    403: problem("FORBIDDEN_FOR_API_KEY (passkeys are managed from a signed-in session), FORBIDDEN (an impersonation session), or CSRF_REJECTED"),
    404: problem("NOT_FOUND: no such passkey of the caller's"),
  },
});

const remove = createRoute({
  ...route("delete", "/{id}", "Remove one of the caller's passkeys (a sensitive action: needs a recent authentication)"),
  request: { params: IdParam },
  responses: {
    204: { description: "Removed; the owner is mailed" },
    401: problem(`UNAUTHENTICATED, ${STEP_UP}`),
    403: problem("CSRF_REJECTED"),
    404: problem("NOT_FOUND: no such passkey of the caller's"),
    409: problem("LAST_SIGN_IN_METHOD: no password, linked provider or other passkey would remain"),
  },
});

const loginOptions = createRoute({
  ...route("post", "/login/options", "Options to sign in with a passkey (no email: any passkey of this site; also for autofill, mediation conditional)", false),
  request: { body: EmptyBody },
  responses: {
    200: jsonResponse(CeremonyOptions("PasskeyRequestOptions", "For navigator.credentials.get(): empty allowCredentials, user verification required; the challenge is good for 5 minutes, once"), "Request options"),
    403: problem("CSRF_REJECTED"),
    429: problem("RATE_LIMITED: too many passkey attempts from this address (Retry-After)"),
  },
});

const loginVerify = createRoute({
  ...route("post", "/login/verify", "Sign in with the passkey the browser chose", false),
  request: { body: jsonBody(z.object({ response: AssertionResponse })) },
  responses: {
    200: jsonResponse(AuthResultSchema, "Signed in, as POST /auth/login answers (session cookie set); amr [hwk|swk, user, mfa], aal 2"),
    400: problem("WEBAUTHN_CHALLENGE_INVALID (unknown, used, expired, or from another flow), VALIDATION_FAILED, INVALID_JSON"),
    401: problem("INVALID_CREDENTIALS: an unknown credential, a bad signature, another origin or RP ID, no user verification, a counter that went back"),
    403: problem("CSRF_REJECTED; after a valid assertion: ACCOUNT_PENDING_DELETION, ACCOUNT_BANNED"),
    429: problem("RATE_LIMITED: too many passkey attempts from this address or with this credential (Retry-After)"),
  },
});

/** /auth/passkeys: the caller's passkeys, and passwordless sign-in with one. */
export function createPasskeyRoutes(deps: PasskeyRouteDeps) {
  const { passkeyRegistration, passkeyManagement, passkeySignIn, stepUp, requireAuth, limits } = deps;
  const { respond } = createSignIn(deps);
  const recent = requireSecondFactorSession(stepUp);
  const own = requireOwnSession(stepUp);
  return createRouter()
    .openapi({ ...registerOptions, middleware: [requireAuth, recent] }, async (c) => c.json(await passkeyRegistration.options(c.get("auth").user), 200))
    .openapi({ ...registerVerify, middleware: [requireAuth, own] }, async (c) => {
      const { response, name } = c.req.valid("json");
      const passkey = await passkeyRegistration.verify(c.get("auth").user, response, name, auditContext(c));
      return c.json({ passkey: passkeyJson(passkey) }, 201);
    })
    .openapi({ ...list, middleware: [requireAuth] }, async (c) => c.json({ passkeys: (await passkeyManagement.list(c.get("auth").user.id)).map(passkeyJson) }, 200))
    .openapi({ ...rename, middleware: [requireAuth, own] }, async (c) => {
      const renamed = await passkeyManagement.rename(c.get("auth").user, c.req.valid("param").id, c.req.valid("json").name, auditContext(c));
      return c.json({ passkey: passkeyJson(renamed) }, 200);
    })
    .openapi({ ...remove, middleware: [requireAuth, recent] }, async (c) => {
      await passkeyManagement.remove(c.get("auth").user, c.req.valid("param").id, auditContext(c));
      return c.body(null, 204);
    })
    .openapi(loginOptions, async (c) => c.json(await passkeySignIn.options(attemptOf(c, limits)), 200))
    .openapi(loginVerify, async (c) => {
      const signedIn = await passkeySignIn.verify(c.req.valid("json"), attemptOf(c, limits));
      return c.json(await respond(c, signedIn), 200);
    });
}
