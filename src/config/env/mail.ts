import { z } from "zod";
import { linkTemplate } from "./fields.ts";

/** Mail delivery and the links mail carries. */
export const mailVariables = {
  SMTP_URL: z
    .string()
    .trim()
    .refine((value) => /^smtps?:\/\//.test(value) && URL.canParse(value), { message: "must be smtp://user:pass@host:587 or smtps://host:465" })
    .optional()
    .describe("smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465. Unset: development prints each mail as a readable block; production refuses to start (see MAIL_TRANSPORT)."),
  MAIL_TRANSPORT: z
    .enum(["smtp", "log"])
    .optional()
    .describe(
      "How mail leaves the server: smtp (through SMTP_URL) or log (written to the log, with the reset links and " +
        "sign-in codes it carries: secrets, for trials only). Default: smtp when SMTP_URL is set; otherwise log in " +
        "development, and in production the server refuses to start until SMTP_URL (or MAIL_TRANSPORT=log) is set.",
    ),
  MAIL_FROM: z.string().trim().min(3).default("Servauth <no-reply@localhost>").describe("Sender (From) of every mail."),
  PUBLIC_UI_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "Base URL of the application's own pages for the links in mail: they point at {PUBLIC_UI_URL}/verify-email, " +
        "/reset-password and /cancel-deletion with ?token=..., so the app serves those pages. Unset: APP_URL, where " +
        "Servauth serves small pages of its own for them.",
    ),
  VERIFY_EMAIL_UI_URL: linkTemplate.describe(
    'Where the email-confirmation link in mail points, with "{token}" where the token goes (e.g. ' +
      "https://app.example.com/confirm?token={token}). Overrides PUBLIC_UI_URL for this one link; unset: PUBLIC_UI_URL's (or Servauth's) /verify-email.",
  ),
  RESET_PASSWORD_UI_URL: linkTemplate.describe(
    'Where the password-reset link in mail points, with "{token}" where the token goes. Overrides PUBLIC_UI_URL for ' +
      "this one link; unset: PUBLIC_UI_URL's (or Servauth's) /reset-password.",
  ),
  CANCEL_DELETION_UI_URL: linkTemplate.describe(
    'Where the link that cancels a scheduled account deletion points, with "{token}" where the token goes. Overrides ' +
      "PUBLIC_UI_URL for this one link; unset: PUBLIC_UI_URL's (or Servauth's) /cancel-deletion.",
  ),
};

/**
 * Mail carries secrets (reset links, sign-in codes): in production they reach the log only when the operator says
 * so, never because SMTP_URL was forgotten.
 */
export function mailTransportProblems(present: Record<string, string | undefined>): string[] {
  const transport = present.MAIL_TRANSPORT?.trim();
  const smtpUrl = present.SMTP_URL;
  if (transport === "smtp" && smtpUrl === undefined) return ["MAIL_TRANSPORT: smtp needs SMTP_URL"];
  if (transport === "log" && smtpUrl !== undefined) return ["MAIL_TRANSPORT: log sends nothing, yet SMTP_URL is set; unset one of them"];
  if (transport === undefined && smtpUrl === undefined && present.NODE_ENV === "production") {
    return [
      "SMTP_URL: must be set in production (mail carries password-reset links and sign-in codes); " +
        "MAIL_TRANSPORT=log writes them to the log instead, for trials only",
    ];
  }
  return [];
}

/** The links in mail carry single-use tokens: in production they go over https only. */
const LINK_SETTINGS = ["PUBLIC_UI_URL", "VERIFY_EMAIL_UI_URL", "RESET_PASSWORD_UI_URL", "CANCEL_DELETION_UI_URL"] as const;

export function linkProblems(present: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const name of LINK_SETTINGS) {
    const value = present[name]?.replace("{token}", "t");
    if (value === undefined || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (present.NODE_ENV === "production" && url.protocol !== "https:") problems.push(`${name}: must be an https:// URL in production (the links carry tokens)`);
    if (name === "PUBLIC_UI_URL" && (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "")) {
      problems.push(`${name}: must be a base URL without query, fragment or user info (the link paths are added to it)`);
    }
  }
  return problems;
}
