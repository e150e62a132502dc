import type { Context, MiddlewareHandler, Next } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";
import { watchRequestBody } from "./request-body.ts";

export type RequestGuardsOptions = {
  /** limitBodySize(MAX_BODY_BYTES). */
  limitBody: MiddlewareHandler<AppEnv>;
  /** CSRF protection of /auth and everything under it. */
  authCsrf: MiddlewareHandler<AppEnv>;
  /** CSRF protection of /graphql, null when GraphQL is off. */
  graphqlCsrf: MiddlewareHandler<AppEnv> | null;
  /** The generic per-IP limit for requests without credentials. */
  unauthenticated: MiddlewareHandler<AppEnv>;
};

/**
 * The request guards in one layer and in their order: the body watch and size limit (only when there is a body),
 * CSRF protection on the paths it covers, then the limit for requests without credentials. One layer rather than
 * four: none of them has work after the handler, so a refusal from any of them is still rendered by the error
 * handler and still passes through every layer outside this one (CORS, envelope), as it did from its own layer.
 */
export function requestGuards(options: RequestGuardsOptions) {
  const { limitBody, authCsrf, graphqlCsrf, unauthenticated } = options;
  // The paths app.use("/auth/*") and app.use("/graphql") matched, exactly: "/auth" itself included, "/graphql/" not.
  const csrfFor = (path: string) => (path === "/auth" || path.startsWith("/auth/") ? authCsrf : path === "/graphql" ? graphqlCsrf : null);
  const afterBody: MiddlewareHandler<AppEnv> = (c, next) => {
    const csrf = csrfFor(c.req.path);
    return csrf === null ? unauthenticated(c, next) : csrf(c, asNext(unauthenticated, c, next));
  };
  return createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.raw.body === null) return afterBody(c, next);
    return watchRequestBody(c, asNext(limitBody, c, asNext(afterBody, c, next)));
  });
}

/** `handler` as the `next` of the guard before it, taking an answer it returns as Hono's dispatch would. */
function asNext(handler: MiddlewareHandler<AppEnv>, c: Context<AppEnv>, next: Next): Next {
  return async () => {
    const answer = await handler(c, next);
    if (answer instanceof Response) c.res = answer;
  };
}
