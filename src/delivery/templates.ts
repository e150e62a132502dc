import type { MailMessage } from "./mailer.ts";

type Action = { label: string; url: string };

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);

/** Every message has the same shape: a few paragraphs and at most one link, as plain text and as HTML. */
function compose(to: string, subject: string, paragraphs: string[], action?: Action): MailMessage {
  const text = [...paragraphs, ...(action ? [`${action.label}: ${action.url}`] : [])].join("\n\n");
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`);
  if (action) body.push(`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`);
  const html = `<!doctype html><html><body>${body.join("")}</body></html>`;
  return { to, subject, text, html };
}

/** `${appUrl}${path}?token=<token>`: the links the issue promises client apps. */
export function tokenLink(appUrl: string, path: string, token: string): string {
  return `${appUrl}${path}?token=${encodeURIComponent(token)}`;
}

const hours = (seconds: number) => {
  if (seconds < 60) return `${seconds} second(s)`;
  return seconds % 3600 === 0 ? `${seconds / 3600} hour(s)` : `${Math.round(seconds / 60)} minute(s)`;
};

export const mails = {
  /** The code stands alone on its own line, so a mail client (or a test) can pick it out. */
  oneTimeCode: (to: string, code: string, purpose: "sign-in" | "verify-email", ttlSeconds: number) =>
    compose(to, purpose === "sign-in" ? "Your sign-in code" : "Your verification code", [
      purpose === "sign-in" ? "Use this code to sign in:" : `Use this code to confirm that ${to} is your email address:`,
      code,
      `It works once and expires in ${hours(ttlSeconds)}. Nobody from us will ever ask you for it. If you did not ask for it, ignore this message.`,
    ]),

  passwordReset: (to: string, link: string, ttlSeconds: number) =>
    compose(
      to,
      "Reset your password",
      [
        "Someone asked to reset the password of your account. If it was you, follow the link to choose a new one.",
        `The link works once and expires in ${hours(ttlSeconds)}. If it was not you, ignore this message.`,
      ],
      { label: "Reset your password", url: link },
    ),

  verifyEmail: (to: string, link: string, ttlSeconds: number) =>
    compose(
      to,
      "Confirm your email address",
      [`Please confirm that ${to} is your email address. The link works once and expires in ${hours(ttlSeconds)}.`],
      { label: "Confirm your email address", url: link },
    ),

  registrationAttempted: (to: string) =>
    compose(to, "Someone tried to register with your email address", [
      "Someone tried to create an account with this email address, which already has one. No new account was created and nothing about your account changed.",
      "If it was you, sign in with your existing account, or ask for a password reset if you have forgotten the password. If it was not you, you can ignore this message.",
    ]),

  /** After a sign-in code claimed an account whose address had never been confirmed (src/auth/account-claim.ts). */
  accountClaimed: (to: string) =>
    compose(to, "Your account was secured", [
      `You signed in with a code sent to ${to}. Until then this address had not been confirmed on its account, so anyone could have set the account's password: that password was removed and every other signed-in device was signed out.`,
      "To sign in with a password again, ask for a password reset and choose a new one. If you did not sign in just now, ask for a password reset to secure the account.",
    ]),

  emailChanged: (to: string, newEmail: string) =>
    compose(to, "Your email address was changed", [
      `The email address of your account was changed to ${newEmail}. This address will no longer receive messages about it.`,
      "If you did not make this change, reset your password and contact support at once.",
    ]),

  passwordChanged: (to: string) =>
    compose(to, "Your password was changed", [
      "The password of your account was changed. If you did not do this, reset your password at once.",
    ]),

  deletionScheduled: (to: string, link: string, deletesAt: Date) =>
    compose(
      to,
      "Your account will be deleted",
      [
        `Your account is scheduled for deletion at ${deletesAt.toISOString()}. Until then it can be restored.`,
        "If you did not ask for this, follow the link to cancel the deletion, then reset your password.",
      ],
      { label: "Cancel the deletion", url: link },
    ),
};
