import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../../errors.ts";
import type { GraphqlContext } from "../../graphql/context.ts";
import { createLoaders } from "../../graphql/loaders.ts";
import type { GraphqlServer } from "../../graphql/server.ts";
import type { SessionService } from "../../sessions/session-service.ts";
import type { AppEnv } from "../app-env.ts";
import { auditContext } from "../audit-context.ts";
import type { CookieJar } from "../cookies.ts";
import type { Authenticator } from "../middleware/authenticate.ts";
import { refusalHeaders } from "../on-error.ts";
import type { RequestLimits } from "../request-limits.ts";
import { attemptOf } from "../sign-in.ts";

export type GraphqlRouteDeps = {
  graphql: GraphqlServer;
  authenticator: Authenticator;
  cookies: CookieJar;
  limits: RequestLimits;
  sessions: Pick<SessionService, "listForUsers">;
};

/** GraphiQL (development only) is one page with inline scripts and styles, and starts its editor workers from blobs. */
const GRAPHIQL_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; font-src data:; img-src 'self' data:; " +
  "connect-src 'self'; worker-src blob:; frame-ancestors 'none'";

/**
 * GET and POST /graphql (src/graphql/, docs/graphql.md), behind the app's middleware like every route. Credentials
 * are optional here: each field requires what it needs. Credentials that fail are refused at once, as on REST
 * (401 UNAUTHENTICATED, in GraphQL's error shape). Not in the OpenAPI document: schema.graphql describes it.
 */
export function createGraphqlRoutes({ graphql, authenticator, cookies, limits, sessions }: GraphqlRouteDeps) {
  const app = new Hono<AppEnv>();
  app.on(["GET", "POST"], "/", async (c) => {
    let auth: GraphqlContext["auth"] = null;
    if (authenticator.presentsCredentials(c)) {
      try {
        auth = await authenticator.authenticate(c);
      } catch (error) {
        if (error instanceof AppError) return refusal(error);
        throw error;
      }
    }
    // Read through Hono first, so the body limit refuses an oversized body as on every route (413).
    const request = c.req.method === "POST" ? new Request(c.req.url, { method: "POST", headers: c.req.raw.headers, body: await c.req.arrayBuffer() }) : c.req.raw;
    const context: GraphqlContext = {
      auth,
      http: c,
      attempt: attemptOf(c, limits),
      audit: auditContext(c),
      loaders: createLoaders(sessions),
      clearSessionCookies: () => cookies.clear(c),
    };
    const response = await graphql.fetch(request, context);
    for (const [name, value] of response.headers) c.header(name, value);
    if (response.headers.get("content-type")?.startsWith("text/html") === true) c.header("Content-Security-Policy", GRAPHIQL_CSP);
    return c.body(await response.arrayBuffer(), response.status as ContentfulStatusCode);
  });
  app.all("/", () => {
    throw new AppError("METHOD_NOT_ALLOWED", { message: "/graphql takes GET (queries) and POST", headers: { Allow: "GET, POST" } });
  });
  return app;
}

/** A refusal before GraphQL runs, in GraphQL's response shape with REST's status and headers. */
function refusal(error: AppError): Response {
  const body = {
    errors: [{ message: error.message, extensions: { code: error.code, ...error.extensions, ...(error.errors ? { errors: error.errors } : {}) } }],
  };
  return new Response(JSON.stringify(body), { status: error.status, headers: { "Content-Type": "application/json; charset=utf-8", ...refusalHeaders(error) } });
}
