import { createHash } from "node:crypto";
import type { Context } from "hono";
import { html, raw } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../app-env.ts";

/** Markup built with hono/html's `html` tag, which escapes every value it is given that is not markup itself. */
export type Markup = ReturnType<typeof html>;

/** Readable on a phone and a desktop, visible focus, error text that does not rely on colour alone. */
const STYLE = `body{font:1.125rem/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}
main{max-width:32rem;margin:3rem auto;padding:0 1rem}
h1{font-size:1.75rem;line-height:1.2}
label{display:block;font-weight:600}
.hint{margin:.25rem 0;color:#505050}
.error{margin:.25rem 0;color:#b00020;font-weight:600}
input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:2px solid #1b1b1b;border-radius:4px}
input[aria-invalid=true]{border-color:#b00020;border-width:3px}
button{font:inherit;margin-top:1rem;padding:.5rem 1rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}`;

/**
 * The pages run no script at all and load nothing: the one inline stylesheet is allowed by its hash (no
 * 'unsafe-inline'), and forms may only post back to this server.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export type PageContent = {
  title: string;
  body: Markup;
  /** The title is announced first, so a screen reader user hears at once that the form needs another look. */
  hasErrors?: boolean;
};

/** A whole page: one heading (the title), the content, under the pages' CSP. */
export function renderPage(c: Context<AppEnv>, { title, body, hasErrors = false }: PageContent, status: ContentfulStatusCode = 200) {
  c.header("Content-Security-Policy", PAGE_CSP);
  return c.html(
    html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${hasErrors ? "Error: " : ""}${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`,
    status,
  );
}
