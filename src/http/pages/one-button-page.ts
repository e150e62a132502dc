import type { Context } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../app-env.ts";
import { formAction, parseLinkToken, readForm, renderInvalidLink, tokenField } from "./link-form.ts";
import { type Markup, renderPage } from "./page.ts";

export type OneButtonPageSpec = {
  /** What the GET shows: a title, a sentence, and the button that posts the token back. */
  ask: { title: string; text: Markup; button: string };
  /** Spends the token (its errors become the pages of src/http/pages/mail-link-pages.ts) and says what was done. */
  act(c: Context<AppEnv>, token: string): Promise<{ title: string; body: Markup }>;
};

/**
 * A mail-link page that does one thing when its button is pressed: GET only asks (mail scanners and link
 * previews follow links, and must not spend the token), the same-origin POST acts.
 */
export function createOneButtonPage(path: string, { ask, act }: OneButtonPageSpec) {
  return {
    show(c: Context<AppEnv>) {
      const token = parseLinkToken(c.req.query("token"));
      if (token === null) return renderInvalidLink(c);
      return renderPage(c, {
        title: ask.title,
        body: html`<p>${ask.text}</p>
<form method="post" action="${formAction(path)}">
${tokenField(token)}
<button type="submit">${ask.button}</button>
</form>`,
      });
    },

    async submit(c: Context<AppEnv>) {
      const token = parseLinkToken((await readForm(c)).token);
      if (token === null) return renderInvalidLink(c);
      return renderPage(c, await act(c, token));
    },
  };
}
