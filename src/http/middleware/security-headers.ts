import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../app-env.ts";

const baseline = secureHeaders({
  xFrameOptions: "DENY",
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  // A route that sets one of these headers itself keeps it: the /docs page needs a CSP that allows its scripts.
  overwrite: false,
});

/** Secure headers on every response, and no caching of anything that did not opt in (auth answers carry secrets). */
export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await baseline(c, async () => {
    await next();
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  });
});
