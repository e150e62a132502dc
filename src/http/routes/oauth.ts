import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../errors.ts";
import type { Services } from "../../services.ts";
import type { AppEnv } from "../app-env.ts";
import type { CookieJar } from "../cookies.ts";
import { navigationFromTrustedPage } from "../middleware/link-provenance.ts";
import type { OAuthCookie } from "../oauth-cookie.ts";
import type { RequestLimits } from "../request-limits.ts";
import { createRouter } from "../router.ts";
import { AuthResultSchema, jsonBody, jsonResponse, problem } from "../schemas.ts";
import { attemptOf, createSignIn } from "../sign-in.ts";
import type { Redirect } from "../../oauth/social-login.ts";

export type OAuthRouteDeps = Pick<Services, "socialLogin" | "sessions" | "accessTokens"> & {
  cookies: CookieJar;
  oauthCookie: OAuthCookie;
  requireAuth: MiddlewareHandler<AppEnv>;
  limits: RequestLimits;
  /** The origins whose pages may start mode=link (APP_URL's and CORS_ORIGINS). */
  allowedOrigins: ReadonlySet<string>;
};

const ProviderParam = z.object({ provider: z.string().max(64).openapi({ example: "google" }) });
const REDIRECT = { description: "To the provider, or back to redirectTo (with `?error=<code>` on a refusal)", headers: { Location: { schema: { type: "string" as const } } } };

const listProviders = createRoute({
  method: "get",
  path: "/providers",
  tags: ["social login"],
  summary: "The enabled social-login providers",
  responses: { 200: jsonResponse(z.object({ providers: z.array(z.object({ id: z.string(), name: z.string() })) }), "Providers, in OAUTH_PROVIDERS order") },
});

const authorize = createRoute({
  method: "get",
  path: "/providers/{provider}/authorize",
  tags: ["social login"],
  summary: "Start a social login (or, with mode=link, add the provider to the signed-in account): a redirect to the provider",
  description:
    "Open in the browser (a navigation, not fetch). The flow state (state, nonce, PKCE verifier) is sealed into an HttpOnly cookie for 10 minutes. " +
    "mode=link needs a signed-in session that authenticated within STEP_UP_MAX_AGE, an account whose address is verified, and a navigation " +
    "from this server's or an allowed origin's page (Sec-Fetch-Site same-origin or none, or an Origin/Referer in CORS_ORIGINS); else CSRF_REJECTED. " +
    "client=app: the callback returns to redirectTo with a one-time `code` for POST /auth/oauth/exchange instead of setting cookies; the app " +
    "sends the S256 `code_challenge` of a PKCE verifier of its own here and the verifier with the code.",
  request: {
    params: ProviderParam,
    query: z.object({
      redirectTo: z.string().max(2048).openapi({ description: "Where the flow ends: under an OAUTH_REDIRECT_ALLOWLIST entry" }),
      mode: z.enum(["login", "link"]).default("login"),
      client: z.enum(["browser", "app"]).default("browser"),
      code_challenge: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, "BASE64URL(SHA-256(code_verifier)), 43 characters")
        .optional()
        .openapi({ description: "client=app only, and required there: the S256 challenge (RFC 7636) of the verifier the app sends to POST /auth/oauth/exchange" }),
      code_challenge_method: z.literal("S256").optional().openapi({ description: "S256, the only method" }),
    }),
  },
  responses: {
    302: REDIRECT,
    400: problem("REDIRECT_NOT_ALLOWED (answered before any redirect); VALIDATION_FAILED, also client=app without code_challenge or client=browser with one"),
    401: problem("UNAUTHENTICATED: mode=link without a session"),
    403: problem("CSRF_REJECTED: mode=link from another site's page"),
    404: problem("OAUTH_PROVIDER_UNKNOWN"),
  },
});

const CallbackParams = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
  iss: z.string().max(2048).optional(),
  /** Apple: the user's name on the first sign-in (unused: the ID token is the only source of identity). */
  user: z.string().max(4096).optional(),
});

const callbackResponses = {
  302: REDIRECT,
  400: problem("OAUTH_FLOW_INVALID: no readable flow cookie (nowhere safe to redirect to)"),
};

const callbackGet = createRoute({
  method: "get",
  path: "/providers/{provider}/callback",
  tags: ["social login"],
  summary: "The provider's return (the redirect URI to register at the provider)",
  description:
    "Completes the flow: a browser gets the session cookies and goes to redirectTo; an app goes to redirectTo?code=...; mode=link goes to " +
    "redirectTo?linked=<provider>. A refusal goes to redirectTo?error=<code>: OAUTH_FLOW_INVALID, OAUTH_ACCESS_DENIED, OAUTH_EMAIL_REQUIRED, " +
    "OAUTH_EMAIL_UNVERIFIED, ACCOUNT_EXISTS_LINK_REQUIRED, OAUTH_IDENTITY_IN_USE, OAUTH_PROVIDER_UNAVAILABLE, STEP_UP_REQUIRED, EMAIL_NOT_VERIFIED, " +
    "ACCOUNT_PENDING_DELETION. A browser sign-in that needs a second factor goes to redirectTo?error=MFA_REQUIRED&methods=...&expiresAt=...#mfaToken=... " +
    "(the token in the fragment, out of logs and Referer).",
  request: { params: ProviderParam, query: CallbackParams },
  responses: callbackResponses,
});

const callbackPost = createRoute({
  method: "post",
  path: "/providers/{provider}/callback",
  tags: ["social login"],
  summary: "The provider's return with response_mode=form_post (Apple)",
  request: { params: ProviderParam, body: { required: true, content: { "application/x-www-form-urlencoded": { schema: CallbackParams } } } },
  responses: callbackResponses,
});

const exchange = createRoute({
  method: "post",
  path: "/exchange",
  tags: ["social login"],
  summary: "An app's one-time code (60 s, single use) and its PKCE verifier for the sign-in answer",
  request: {
    body: jsonBody(
      z.object({
        code: z.string().min(1).max(4096),
        code_verifier: z
          .string()
          .regex(/^[A-Za-z0-9._~-]{43,128}$/, "43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)")
          .openapi({ description: "The verifier whose S256 challenge the app sent to authorize" }),
      }),
    ),
  },
  responses: {
    200: jsonResponse(AuthResultSchema, "Signed in: tokens in the body (and the session cookies)"),
    400: problem("OAUTH_FLOW_INVALID: unknown, expired or used code, or a code_verifier that does not match; VALIDATION_FAILED"),
    403: problem("ACCOUNT_PENDING_DELETION, CSRF_REJECTED"),
  },
});

/** The social-login routes under /auth/oauth: validate, call the social-login service, turn its outcome into a redirect. */
export function createOAuthRoutes(deps: OAuthRouteDeps) {
  const { socialLogin, cookies, oauthCookie, sessions, limits } = deps;
  const signIn = createSignIn(deps);
  const fromTrustedPage = navigationFromTrustedPage(deps.allowedOrigins);
  // Only mode=link acts on the caller's session: from a trusted page, authenticated.
  const authenticateForLink: MiddlewareHandler<AppEnv> = (c, next) =>
    c.req.query("mode") === "link"
      ? fromTrustedPage(c, async () => {
          await deps.requireAuth(c, next);
        })
      : next();

  function follow(c: Context<AppEnv>, outcome: Redirect) {
    if (outcome.flow !== undefined) oauthCookie.set(c, outcome.flow.sealed, outcome.flow.maxAgeSeconds);
    if (outcome.signedIn !== undefined) cookies.set(c, outcome.signedIn.issued, sessions.absoluteExpiry(outcome.signedIn.issued.session.createdAt));
    c.header("Cache-Control", "no-store");
    return c.redirect(outcome.location, 302);
  }

  async function complete(c: Context<AppEnv>, provider: string, form: URLSearchParams | null) {
    const presented = oauthCookie.read(c);
    // Whatever happens next, the flow is spent or useless: the cookie goes, with a refusal too.
    oauthCookie.clear(c);
    const outcome = await socialLogin
      .callback(provider, { url: new URL(c.req.url), form }, presented, attemptOf(c, limits))
      .catch((error: unknown) => {
        throw error instanceof AppError && presented !== undefined ? error.withHeaders({ "Set-Cookie": oauthCookie.cleared() }) : error;
      });
    return follow(c, outcome);
  }

  return createRouter()
    .openapi(listProviders, (c) => c.json({ providers: socialLogin.list() }, 200))
    .openapi({ ...authorize, middleware: [authenticateForLink] }, async (c) => {
      const { provider } = c.req.valid("param");
      const { redirectTo, mode, client, code_challenge: codeChallenge } = c.req.valid("query");
      return follow(c, await socialLogin.authorize({ provider, redirectTo, mode, client, codeChallenge, auth: c.get("auth") ?? null }, attemptOf(c, limits)));
    })
    .openapi(callbackGet, (c) => complete(c, c.req.valid("param").provider, null))
    .openapi(callbackPost, (c) => {
      const form = c.req.valid("form");
      return complete(c, c.req.valid("param").provider, new URLSearchParams(Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined)));
    })
    .openapi(exchange, async (c) => {
      const { code, code_verifier: codeVerifier } = c.req.valid("json");
      return c.json(await signIn.respond(c, await socialLogin.exchange(code, codeVerifier, attemptOf(c, limits))), 200);
    });
}
