import { Hono } from "hono";
import { html } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type AppConfig, EMAIL_LINK_PATHS } from "../../config/config.ts";
import { AppError, ERROR_CODES } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { createMailLinkActions, type MailLinkActionDeps } from "../mail-link-actions.ts";
import { sameOriginForm } from "../middleware/same-origin-form.ts";
import { refusalHeaders } from "../on-error.ts";
import { createCancelDeletionPage } from "./cancel-deletion-page.ts";
import { renderInvalidLink } from "./link-form.ts";
import { renderPage } from "./page.ts";
import { createResetPasswordPage } from "./reset-password-page.ts";
import { createVerifyEmailPage } from "./verify-email-page.ts";

export type MailLinkPageDeps = MailLinkActionDeps & { config: AppConfig };

/**
 * Servauth's own pages for the links in mail, for apps that leave PUBLIC_UI_URL unset. A GET never spends a token
 * (mail scanners follow links): it shows a form, and the person's POST does the work, through the same actions as
 * the JSON endpoints. The pages stay served when the links point elsewhere, so mail sent before the change still works.
 */
export function createMailLinkPages(deps: MailLinkPageDeps) {
  const actions = createMailLinkActions(deps);
  const fromOwnPage = sameOriginForm(new URL(deps.config.appUrl).origin);
  const paths = EMAIL_LINK_PATHS;
  const pages = [
    [paths.verifyEmail, createVerifyEmailPage(actions, paths.verifyEmail)],
    [paths.resetPassword, createResetPasswordPage(actions, paths.resetPassword, deps.config.passwords.minLength)],
    [paths.cancelDeletion, createCancelDeletionPage(actions, paths.cancelDeletion)],
  ] as const;

  const router = new Hono<AppEnv>();
  for (const [path, page] of pages) {
    router.get(path, (c) => page.show(c));
    router.post(path, fromOwnPage, (c) => page.submit(c));
  }
  // People read these answers: a refusal is a page too. Anything else (a bug, a database outage) goes on to the
  // application's error handler, which logs it.
  router.onError((error, c) => {
    if (!(error instanceof AppError)) throw error;
    if (error.code === "INVALID_TOKEN") return renderInvalidLink(c);
    for (const [name, value] of Object.entries(refusalHeaders(error))) c.header(name, value);
    return renderPage(
      c,
      { title: ERROR_CODES[error.code].title, body: html`<p>Nothing was changed. To try again, open the link in the email once more.</p>` },
      error.status as ContentfulStatusCode,
    );
  });
  return router;
}
