import { html } from "hono/html";
import type { MailLinkActions } from "../mail-link-actions.ts";
import { createOneButtonPage } from "./one-button-page.ts";

/** The page behind the email-confirmation link. */
export function createVerifyEmailPage(actions: MailLinkActions, path: string) {
  return createOneButtonPage(path, {
    ask: { title: "Confirm your email address", text: html`Confirm that this email address is yours.`, button: "Confirm my email address" },
    async act(c, token) {
      const user = await actions.verifyEmail(c, token);
      return {
        title: "Your email address is confirmed",
        body: html`<p><strong>${user.email}</strong> is confirmed. You can close this page.</p>`,
      };
    },
  });
}
