import type { Context } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../app-env.ts";
import { LinkToken } from "../schemas.ts";
import { renderPage } from "./page.ts";

/** The fields of a urlencoded form post. Any other body reads as an empty form, whose fields then fail validation. */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) return {};
  return Object.fromEntries(new URLSearchParams(await c.req.text()));
}

/** The token of a link, or null when it cannot be one of ours (then nothing is looked up). */
export function parseLinkToken(value: string | undefined): string | null {
  const parsed = LinkToken.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * The form's action, relative to the page (/reset-password -> "reset-password"): the post goes to the same path
 * without the query, so the token travels only in the body, and a proxy's path prefix is kept.
 */
export const formAction = (pagePath: string) => pagePath.replace(/^\//, "");

/** Carries the token from the link into the post. */
export const tokenField = (token: string) => html`<input type="hidden" name="token" value="${token}">`;

/** Unknown, used, expired or mangled: one page for all, as the JSON endpoints answer one INVALID_TOKEN. */
export function renderInvalidLink(c: Context<AppEnv>) {
  return renderPage(
    c,
    {
      title: "This link can no longer be used",
      body: html`<p>It was used already, it has expired, or it was not copied whole. Nothing was changed.</p>
<p>Ask the app for a new email and follow the link in it.</p>`,
    },
    400,
  );
}
