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

/** A link template from the configuration (AppConfig.links) with the token in place of "{token}". */
export function tokenLink(template: string, token: string): string {
  return template.replace("{token}", encodeURIComponent(token));
}

const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;

/** A lifetime as a person says it: "1 hour", "24 hours", "90 minutes"; whole days and hours when it is one. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return count(seconds, "second");
  if (seconds % 86_400 === 0) return count(seconds / 86_400, "day");
  if (seconds % 3600 === 0) return count(seconds / 3600, "hour");
  return count(Math.round(seconds / 60), "minute");
}

export const mails = {
  /** The code stands alone on its own line, so a mail client (or a test) can pick it out. */
  oneTimeCode: (to: string, code: string, purpose: "sign-in" | "verify-email" | "reauthenticate", ttlSeconds: number) =>
    compose(to, purpose === "sign-in" ? "Your sign-in code" : "Your verification code", [
      {
        "sign-in": "Use this code to sign in:",
        "verify-email": `Use this code to confirm that ${to} is your email address:`,
        reauthenticate: "Use this code to confirm it is you before a change to your account:",
      }[purpose],
      code,
      `It works once and expires in ${formatDuration(ttlSeconds)}. Nobody from us will ever ask you for it. If you did not ask for it, ignore this message.`,
    ]),

  passwordReset: (to: string, link: string, ttlSeconds: number) =>
    compose(
      to,
      "Reset your password",
      [
        "Someone asked to reset the password of your account. If it was you, follow the link to choose a new one.",
        `The link works once and expires in ${formatDuration(ttlSeconds)}. If it was not you, ignore this message.`,
      ],
      { label: "Reset your password", url: link },
    ),

  /** An account an administrator made without a password: the link is a password-reset link, so it sets the first one. */
  invitation: (to: string, link: string, ttlSeconds: number) =>
    compose(
      to,
      "You have been invited",
      [
        "An administrator created an account for you. Follow the link to choose your password.",
        `The link works once and expires in ${formatDuration(ttlSeconds)}. If you did not expect this, ignore this message.`,
      ],
      { label: "Choose your password", url: link },
    ),

  verifyEmail: (to: string, link: string, ttlSeconds: number) =>
    compose(
      to,
      "Confirm your email address",
      [
        `Please confirm that ${to} is your email address. The link works once and expires in ${formatDuration(ttlSeconds)}.`,
        // Whoever registered chose the password: confirming someone else's registration hands them a verified account.
        "If you did not create an account with this address, do not follow the link; ignore this message.",
      ],
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

  /** A social login proved the address (the provider vouched for it) on an account that had never confirmed it. */
  accountClaimedBySocialLogin: (to: string, provider: string) =>
    compose(to, "Your account was secured", [
      `You signed in with ${provider}, which confirmed that ${to} is yours. Until then this address had not been confirmed on its account, so anyone could have set the account's password or linked a sign-in to it: those were removed and every other signed-in device was signed out.`,
      "To sign in with a password again, ask for a password reset and choose a new one. If you did not sign in just now, ask for a password reset to secure the account.",
    ]),

  providerLinked: (to: string, provider: string) =>
    compose(to, `${provider} sign-in was added to your account`, [
      `Signing in with ${provider} now opens your account.`,
      `If you did not do this, sign in, remove ${provider} from your linked accounts and change your password.`,
    ]),

  passkeyAdded: (to: string, name: string) =>
    compose(to, "A passkey was added to your account", [
      `The passkey "${name}" now signs in to your account.`,
      "If you did not do this, sign in, remove it from your passkeys and change your password.",
    ]),

  passkeyRemoved: (to: string, name: string) =>
    compose(to, "A passkey was removed from your account", [
      `The passkey "${name}" no longer signs in to your account. If you did not do this, change your password at once.`,
    ]),

  providerUnlinked: (to: string, provider: string) =>
    compose(to, `${provider} sign-in was removed from your account`, [
      `Signing in with ${provider} no longer opens your account. If you did not do this, change your password at once.`,
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

  /** A code for the email second factor: signing in, or confirming the factor when it is set up. */
  secondFactorCode: (to: string, code: string, use: "sign-in" | "enrol", ttlSeconds: number) =>
    compose(to, use === "sign-in" ? "Your sign-in verification code" : "Confirm email as your second factor", [
      use === "sign-in" ? "Use this code to finish signing in:" : "Use this code to turn on email codes as your second factor:",
      code,
      `It works once and expires in ${formatDuration(ttlSeconds)}. Nobody from us will ever ask you for it. If you did not just sign in, your password is known to someone else: change it.`,
    ]),

  secondFactorEnabled: (to: string, factor: string) =>
    compose(to, "A second factor was added to your account", [
      `${factor} now protects your account as a second factor. If you did not do this, reset your password at once and contact support.`,
    ]),

  secondFactorRemoved: (to: string, factor: string) =>
    compose(to, "A second factor was removed from your account", [
      `${factor} no longer protects your account. If you did not do this, reset your password at once and set up a second factor again.`,
    ]),

  secondFactorsReset: (to: string) =>
    compose(to, "The second factors of your account were removed", [
      "An administrator removed every second factor and recovery code of your account: signing in asks only for your password (or a code by mail) now.",
      "Set up a second factor again. If you did not ask for this, reset your password at once and tell your administrator.",
    ]),

  recoveryCodeUsed: (to: string, left: number) =>
    compose(to, "A recovery code was used to sign in", [
      `Someone signed in to your account with one of its recovery codes; ${left} unused code${left === 1 ? "" : "s"} remain${left === 1 ? "s" : ""}.`,
      "If it was not you, reset your password at once and generate new recovery codes.",
    ]),
};
