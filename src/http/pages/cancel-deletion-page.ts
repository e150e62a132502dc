import { html } from "hono/html";
import type { MailLinkActions } from "../mail-link-actions.ts";
import { createOneButtonPage } from "./one-button-page.ts";

/** The page behind the link that cancels a scheduled account deletion. */
export function createCancelDeletionPage(actions: MailLinkActions, path: string) {
  return createOneButtonPage(path, {
    ask: {
      title: "Keep your account",
      text: html`Your account is scheduled for deletion. If you did not ask for that, or changed your mind, keep it.`,
      button: "Keep my account",
    },
    async act(c, token) {
      await actions.cancelDeletion(c, token);
      return {
        title: "Your account will not be deleted",
        body: html`<p>You can sign in again.</p>
<p>If you did not ask for the deletion, reset your password now: someone else may know it.</p>`,
      };
    },
  });
}
