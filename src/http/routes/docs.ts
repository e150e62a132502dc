import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { createRouter } from "../router.ts";

/**
 * The page needs what the API's `default-src 'none'` forbids: its own scripts and stylesheet, the data: images inside
 * that stylesheet, and fetch() of /openapi.json and of "try it out" calls. All same-origin, nothing inline: checked in
 * headless Chromium with every operation expanded, no violation was reported.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/*
 * Links are relative so the page keeps working behind a proxy that mounts the server under a path prefix. The page
 * is /docs (no trailing slash), so "docs/x" resolves to /docs/x and "openapi.json" to /openapi.json.
 */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Servauth API reference</title>
    <link rel="stylesheet" href="docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js"></script>
    <script src="docs/init.js"></script>
  </body>
</html>
`;

// A file rather than an inline script, so the CSP needs no 'unsafe-inline' for scripts. validatorUrl null: Swagger UI
// would otherwise send the document to validator.swagger.io for a badge.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
});
`;

/** The files of the swagger-ui-dist package we serve, by the name they have under /docs/. */
const ASSETS = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
} as const;

type AssetName = keyof typeof ASSETS;

/** GET /docs (mounted at the root): an interactive API reference (Swagger UI) whose assets come from node_modules, never a CDN. */
export function createDocsRoutes() {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  // Read on first request, not when the app is built: most apps (tests) never serve the page.
  const loaded = new Map<AssetName, Promise<string>>();
  const load = (name: AssetName) => {
    let content = loaded.get(name);
    if (content === undefined) {
      content = readFile(path.join(packageDir, name), "utf8");
      loaded.set(name, content);
    }
    return content;
  };

  const app = createRouter();
  app.get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(PAGE);
  });
  // The page's relative links resolve against /docs, so /docs/ is sent there; "../docs" keeps a proxy's path prefix.
  app.get("/docs/", (c) => c.redirect("../docs", 301));
  app.get("/docs/init.js", (c) => c.body(INIT_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  for (const [name, contentType] of Object.entries(ASSETS) as [AssetName, string][]) {
    app.get(`/docs/${name}`, async (c) =>
      c.body(await load(name), 200, { "Content-Type": contentType, "Cache-Control": "public, max-age=3600" }),
    );
  }
  return app;
}
