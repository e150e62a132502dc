import type { Context, MiddlewareHandler, Next } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import type { CsrfCheck } from "./csrf.ts";
import { watchRequestBody } from "./request-body.ts";

export type RequestGuardsOptions = {
  /** limitBodySize(MAX_BODY_BYTES). */
  limitBody: MiddlewareHandler<AppEnv>;
  /** CSRF protection of /auth and everything under it. */
  authCsrf: CsrfCheck;
  /** CSRF protection of /graphql, null when GraphQL is off. */
  graphqlCsrf: CsrfCheck | null;
  /** The generic per-IP limit for requests without credentials: what to wait for, null when nothing is counted. */
  unauthenticated: (c: Context<AppEnv>) => Promise<void> | null;
};

/**
 * The request guards in one layer and in their order: the body watch and size limit (only when there is a body),
 * CSRF protection on the paths it covers, then the limit for requests without credentials. One layer rather than
 * four: none of them has work after the handler, so a refusal from any of them is still rendered by the error
 * handler and still passes through every layer outside this one (CORS, envelope), as it did from its own layer.
 * CSRF and the limit are checks, not middleware: a request without a body that presents credentials (most of an
 * auth server's traffic) goes through this layer without an async frame.
 */
export function requestGuards(options: RequestGuardsOptions) {
  const { limitBody, authCsrf, graphqlCsrf, unauthenticated } = options;
  // The paths app.use("/auth/*") and app.use("/graphql") matched, exactly: "/auth" itself included, "/graphql/" not.
  const csrfFor = (path: string) => (path === "/auth" || path.startsWith("/auth/") ? authCsrf : path === "/graphql" ? graphqlCsrf : null);
  const afterBody = (c: Context<AppEnv>, next: Next): Promise<void> => {
    csrfFor(c.req.path)?.(c);
    const counting = unauthenticated(c);
    return counting === null ? next() : counting.then(() => next());
  };
  return createMiddleware<AppEnv>((c, next) => {
    if (c.req.raw.body === null) return afterBody(c, next);
    return watchRequestBody(c, asNext(limitBody, c, () => afterBody(c, next)));
  });
}

/** `handler` as the `next` of the guard before it, taking an answer it returns as Hono's dispatch would. */
function asNext(handler: MiddlewareHandler<AppEnv>, c: Context<AppEnv>, next: Next): Next {
  return async () => {
    const answer = await handler(c, next);
    if (answer instanceof Response) c.res = answer;
  };
}
