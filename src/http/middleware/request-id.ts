import { randomUUID } from "node:crypto";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env.ts";

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts the caller's X-Request-Id when it is well-formed (so traces join up), generates one otherwise. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const offered = c.req.header("x-request-id");
  const id = offered !== undefined && WELL_FORMED.test(offered) ? offered : randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("X-Request-Id", id);
});
