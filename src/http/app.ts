import type { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AppEnv } from "./app-env.ts";
import { createCookieJar, createOtpCookie } from "./cookies.ts";
import { unauthenticatedLimit } from "./middleware/abuse-guard.ts";
import { authenticate, createAuthenticator, credentialsPresented } from "./middleware/authenticate.ts";
import { limitBodySize } from "./middleware/body-limit.ts";
import type { SocketAddressReader } from "./middleware/client-ip.ts";
import { corsAllowlist } from "./middleware/cors.ts";
import { csrfProtection } from "./middleware/csrf.ts";
import { requestAdmission } from "./middleware/request-admission.ts";
import { requestGuards } from "./middleware/request-guards.ts";
import { requestEnvelope } from "./middleware/request-envelope.ts";
import { createErrorHandler, problemResponse } from "./on-error.ts";
import { createRequestLimits, type RequestLimits } from "./request-limits.ts";
import { createGraphqlSchema } from "../graphql/schema.ts";
import { createGraphqlServer } from "../graphql/server.ts";
import { createEnrollmentCheck } from "./middleware/mfa-enrollment-gate.ts";
import { createAdminCheck } from "./middleware/require-admin.ts";
import { createGraphqlRoutes } from "./routes/graphql.ts";
import { createMailLinkPages } from "./pages/mail-link-pages.ts";
import { createRouter } from "./router.ts";
import { VERSION } from "../version.ts";
import { createAccountRoutes } from "./routes/account.ts";
import { createAdminRoutes } from "./routes/admin.ts";
import { createAuditRoutes } from "./routes/audit.ts";
import { createAuthRoutes } from "./routes/auth.ts";
import { createDocsRoutes } from "./routes/docs.ts";
import { createHealthRoutes } from "./routes/health.ts";
import { createMeRoutes } from "./routes/me.ts";
import { createMetricsRoutes } from "./routes/metrics.ts";
import { createMfaRoutes } from "./routes/mfa.ts";
import { createMfaSignInRoutes } from "./routes/mfa-sign-in.ts";
import { createOtpRoutes } from "./routes/otp.ts";
import { createReauthenticateRoutes } from "./routes/reauthenticate.ts";
import { createSessionRoutes } from "./routes/sessions.ts";
import { createWellKnownRoutes } from "./routes/well-known.ts";
import { createOAuthCookie, isProviderCallback } from "./oauth-cookie.ts";
import { createMeAccountsRoutes } from "./routes/me-accounts.ts";
import { createOAuthRoutes } from "./routes/oauth.ts";
import { createApiKeyRoutes } from "./routes/api-keys.ts";
import { createOAuth2Routes } from "./routes/oauth2.ts";
import { createPasskeyRoutes } from "./routes/passkeys.ts";

export type AppOptions = { readSocketAddress: SocketAddressReader };

/** The HTTP application: middleware in order, then the routers. It never listens; see server/. */
export function createApp(services: Services, options: AppOptions) {
  const { config } = services;
  const cookies = createCookieJar(config.cookies);
  const otpCookie = createOtpCookie(config.otp.cookieName, config.cookies.secure);
  const limits = createRequestLimits(services.limiter, services.audit);
  const authenticateDeps = {
    accessTokens: services.accessTokens,
    sessionValidator: services.sessionValidator,
    apiKeyValidator: services.apiKeyValidator,
    cookies,
    limits,
    mfaPolicy: config.mfa.policy,
  };
  const requireAuth = authenticate(authenticateDeps);

  const app = createRouter();
  // Before anything that can answer early (CORS preflight, CSRF), so those requests are logged and counted too.
  app.use(
    requestEnvelope({
      trustProxy: config.trustProxy,
      readSocketAddress: options.readSocketAddress,
      logger: services.logger,
      metrics: config.metrics.enabled ? services.metrics : null,
    }),
  );
  app.use(requestAdmission({ isBlocked: services.isBlocked, deadlineMs: config.requestDeadlineMs }));
  app.use(corsAllowlist(config.allowedOrigins));
  app.use(
    requestGuards({
      limitBody: limitBodySize(config.maxBodyBytes),
      authCsrf: csrfProtection({ allowedOrigins: config.allowedOrigins, cookieNames: [...cookies.names, otpCookie.name], exempt: isProviderCallback }),
      graphqlCsrf: config.graphql.enabled ? csrfProtection({ allowedOrigins: config.allowedOrigins, cookieNames: cookies.names }) : null,
      unauthenticated: unauthenticatedLimit(limits, credentialsPresented(cookies)),
    }),
  );
  const oauthCookie = createOAuthCookie(config.isProduction);

  const readiness = {
    pingDatabase: () => services.database.ping(),
    isRevocationBusConnected: () => services.bus.isConnected(),
    oauthProviders: () => {
      services.providers.warmUp();
      return services.providers.statuses();
    },
  };
  const routes = app
    .route("/auth", createAuthRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/auth", createAccountRoutes({ ...services, requireAuth, limits }))
    .route("/auth/me", createMeRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/auth/sessions", createSessionRoutes({ ...services, requireAuth }))
    .route("/auth/audit", createAuditRoutes({ ...services, requireAuth }))
    .route("/auth/otp", createOtpRoutes({ ...services, cookies, otpCookie, requireAuth, limits }))
    .route("/auth", createReauthenticateRoutes({ ...services, cookies, otpCookie, requireAuth, limits }))
    .route("/auth/mfa", createMfaRoutes({ ...services, requireAuth, limits }))
    .route("/auth/mfa", createMfaSignInRoutes({ ...services, cookies, limits }))
    .route("/auth/admin", createAdminRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/auth/oauth", createOAuthRoutes({ ...services, cookies, oauthCookie, requireAuth, limits, allowedOrigins: config.allowedOrigins }))
    .route("/auth/me/accounts", createMeAccountsRoutes({ ...services, requireAuth }))
    .route("/auth/passkeys", createPasskeyRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/", createHealthRoutes(readiness))
    .route("/auth/api-keys", createApiKeyRoutes({ ...services, requireAuth }))
    .route("/oauth2", createOAuth2Routes({ ...services, limits }))
    .route("/", createWellKnownRoutes({ signingKeys: services.signingKeys, issuer: config.tokens.issuer }));
  // With METRICS_PORT set, /metrics is served by a listener of its own (cli/serve.ts), not here.
  if (config.metrics.enabled && config.metrics.port === null) app.route("/", createMetricsRoutes(services.metrics));
  // GraphQL describes itself (schema.graphql): outside the typed client's AppType and the OpenAPI document.
  if (config.graphql.enabled) app.route("/graphql", createGraphqlRoutes({ graphql: createGraphql(services, limits), authenticator: createAuthenticator(authenticateDeps), cookies, limits, sessions: services.sessions }));
  // Pages for people, not API: outside the typed client's AppType and the OpenAPI document.
  app.route("/", createMailLinkPages({ ...services, limits }));

  describeApi(app);
  app.notFound((c) => problemResponse(c, new AppError("NOT_FOUND")));
  app.onError(createErrorHandler(services.logger));
  return routes;
}

/** The GraphQL server over the same services, with the request rules REST applies (src/graphql/). */
function createGraphql(services: Services, limits: RequestLimits) {
  const { config } = services;
  const schema = createGraphqlSchema(services, {
    enrollmentRefusal: createEnrollmentCheck(config.mfa.policy),
    assertAdmin: createAdminCheck(services.stepUp, config.admin.secondFactorRequired),
    limits,
  });
  return createGraphqlServer({ schema, config: config.graphql, limits, logger: services.logger, persistedOperations: services.persistedOperations });
}

function describeApi(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.openAPIRegistry.registerComponent("securitySchemes", "sessionCookie", {
    type: "apiKey",
    in: "cookie",
    name: "servauth.session",
    description: "HttpOnly session cookie (named __Host-servauth.session in production)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Servauth",
      version: VERSION,
      description:
        "Authentication API. Errors are RFC 9457 problem details (application/problem+json) whose `code` is stable: " +
        "clients switch on it. An interactive reference is served at /docs.",
    },
  });
  // Not in the AppType chain: the page is for people, not for the typed client.
  app.route("/", createDocsRoutes());
}

/** The app's type, for a typed client: `hc<AppType>(url)` from hono/client. */
export type AppType = ReturnType<typeof createApp>;
