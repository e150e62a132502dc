import type { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AppEnv } from "./app-env.ts";
import { createCookieJar, createOtpCookie } from "./cookies.ts";
import { blocklist, unauthenticatedLimit } from "./middleware/abuse-guard.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { limitBodySize } from "./middleware/body-limit.ts";
import { clientIp, type SocketAddressReader } from "./middleware/client-ip.ts";
import { corsAllowlist } from "./middleware/cors.ts";
import { csrfProtection } from "./middleware/csrf.ts";
import { requestDeadline } from "./middleware/deadline.ts";
import { requestId } from "./middleware/request-id.ts";
import { requestLog } from "./middleware/request-log.ts";
import { requestMetrics } from "./middleware/request-metrics.ts";
import { securityHeaders } from "./middleware/security-headers.ts";
import { createErrorHandler, problemResponse } from "./on-error.ts";
import { createRequestLimits } from "./request-limits.ts";
import { createRouter } from "./router.ts";
import { VERSION } from "../version.ts";
import { createAccountRoutes } from "./routes/account.ts";
import { createAuditRoutes } from "./routes/audit.ts";
import { createAuthRoutes } from "./routes/auth.ts";
import { createDocsRoutes } from "./routes/docs.ts";
import { createHealthRoutes } from "./routes/health.ts";
import { createMeRoutes } from "./routes/me.ts";
import { createMetricsRoutes } from "./routes/metrics.ts";
import { createOtpRoutes } from "./routes/otp.ts";
import { createSessionRoutes } from "./routes/sessions.ts";
import { createWellKnownRoutes } from "./routes/well-known.ts";

export type AppOptions = { readSocketAddress: SocketAddressReader };

/** The HTTP application: middleware in order, then the routers. It never listens; see server/. */
export function createApp(services: Services, options: AppOptions) {
  const { config } = services;
  const cookies = createCookieJar(config.cookies);
  const otpCookie = createOtpCookie(config.otp.cookieName, config.cookies.secure);
  const limits = createRequestLimits(services.limiter, services.audit);
  const requireAuth = authenticate({ accessTokens: services.accessTokens, sessionValidator: services.sessionValidator, cookies, limits });

  const app = createRouter();
  app.use(requestId);
  // Before anything that can answer early (CORS preflight, CSRF), so those requests are logged and counted too.
  app.use(clientIp(config.trustProxy, options.readSocketAddress));
  app.use(requestLog(services.logger));
  if (config.metrics.enabled) app.use(requestMetrics(services.metrics));
  app.use(securityHeaders);
  app.use(requestDeadline(config.requestDeadlineMs));
  app.use(blocklist(services.isBlocked));
  app.use(corsAllowlist(config.allowedOrigins));
  app.use(limitBodySize(config.maxBodyBytes));
  app.use("/auth/*", csrfProtection({ allowedOrigins: config.allowedOrigins, cookieNames: [...cookies.names, otpCookie.name] }));
  app.use(unauthenticatedLimit(limits, config.cookies.sessionName));

  const readiness = { pingDatabase: () => services.database.ping(), isRevocationBusConnected: () => services.bus.isConnected() };
  const routes = app
    .route("/auth", createAuthRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/auth", createAccountRoutes({ ...services, requireAuth, limits }))
    .route("/auth/me", createMeRoutes({ ...services, cookies, requireAuth, limits }))
    .route("/auth/sessions", createSessionRoutes({ ...services, requireAuth }))
    .route("/auth/audit", createAuditRoutes({ ...services, requireAuth }))
    .route("/auth/otp", createOtpRoutes({ ...services, cookies, otpCookie, requireAuth, limits }))
    .route("/", createHealthRoutes(readiness))
    .route("/", createWellKnownRoutes(services.signingKeys));
  // With METRICS_PORT set, /metrics is served by a listener of its own (cli/serve.ts), not here.
  if (config.metrics.enabled && config.metrics.port === null) app.route("/", createMetricsRoutes(services.metrics));

  describeApi(app);
  app.notFound((c) => problemResponse(c, new AppError("NOT_FOUND")));
  app.onError(createErrorHandler(services.logger));
  return routes;
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
  app.route("/docs", createDocsRoutes());
}

/** The app's type, for a typed client: `hc<AppType>(url)` from hono/client. */
export type AppType = ReturnType<typeof createApp>;
