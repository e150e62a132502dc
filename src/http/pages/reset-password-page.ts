import type { Context } from "hono";
import { html } from "hono/html";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import type { MailLinkActions } from "../mail-link-actions.ts";
import { NewPassword } from "../schemas.ts";
import { formAction, parseLinkToken, readForm, renderInvalidLink, tokenField } from "./link-form.ts";
import { renderPage } from "./page.ts";

/** What the password policy said about a refused password, in the words shown under the field. */
function policyMessage(error: AppError): string {
  if (error.code === "PASSWORD_TOO_COMMON") return error.message;
  return error.errors?.[0]?.message ?? error.message;
}

/**
 * The page behind the password-reset link: GET shows the form, POST sets the password. A password the policy refuses
 * shows the policy's reason under the field and keeps the (still unspent) token in the form for another try.
 */
export function createResetPasswordPage(actions: MailLinkActions, path: string, minLength: number) {
  function renderForm(c: Context<AppEnv>, token: string, error?: string) {
    const describedBy = error === undefined ? "password-hint" : "password-hint password-error";
    return renderPage(
      c,
      {
        title: "Choose a new password",
        hasErrors: error !== undefined,
        body: html`<p>Every device signed in to your account will be signed out.</p>
<form method="post" action="${formAction(path)}" novalidate>
${tokenField(token)}
<label for="password">New password</label>
<p class="hint" id="password-hint">At least ${minLength} characters. A few unrelated words make a strong password that is easy to remember.</p>
${error === undefined ? "" : html`<p class="error" id="password-error">Error: ${error}</p>`}
<input type="password" id="password" name="password" autocomplete="new-password" required minlength="${minLength}" aria-describedby="${describedBy}"${error === undefined ? "" : html` aria-invalid="true" autofocus`}>
<button type="submit">Set the new password</button>
</form>`,
      },
      error === undefined ? 200 : 400,
    );
  }

  return {
    show(c: Context<AppEnv>) {
      const token = parseLinkToken(c.req.query("token"));
      return token === null ? renderInvalidLink(c) : renderForm(c, token);
    },

    async submit(c: Context<AppEnv>) {
      const form = await readForm(c);
      const token = parseLinkToken(form.token);
      if (token === null) return renderInvalidLink(c);
      const password = NewPassword.safeParse(form.password ?? "");
      if (!password.success) return renderForm(c, token, password.error.issues[0]?.message);
      try {
        await actions.resetPassword(c, token, password.data);
      } catch (error) {
        if (error instanceof AppError && (error.code === "VALIDATION_FAILED" || error.code === "PASSWORD_TOO_COMMON")) {
          return renderForm(c, token, policyMessage(error));
        }
        throw error;
      }
      return renderPage(c, {
        title: "Your password was changed",
        body: html`<p>Every device that was signed in to your account has been signed out. Sign in again with your new password.</p>`,
      });
    },
  };
}
