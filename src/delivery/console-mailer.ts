import type { Logger } from "../observability/logger.ts";
import type { MailMessage, Mailer } from "./mailer.ts";

/** Where printed mail goes: the stream the logs go to (stdout for the server, stderr for a CLI command). */
export type MailOutput = { write(text: string): unknown };

/**
 * Development default when SMTP_URL is unset: each mail as a block a developer can read and click, with the link
 * on a line of its own (a JSON log line would escape the body's line breaks).
 */
export function createPrintingMailer(output: MailOutput): Mailer {
  return {
    async send(message) {
      output.write(formatMail(message));
    },
    async close() {},
  };
}

/**
 * MAIL_TRANSPORT=log in production (trials only; the operator opted in): one log line per mail. Logged under `mail`
 * on purpose: the log's redaction of `token` fields must not hide the link the reader needs.
 */
export function createLoggingMailer(logger: Logger): Mailer {
  return {
    async send(message) {
      logger.info({ mail: { to: message.to, subject: message.subject, text: message.text } }, `mail to ${message.to}: ${message.subject}`);
    },
    async close() {},
  };
}

const RULE = "-".repeat(72);

/** The first web address in the text: the one the mail asks its reader to open. */
const firstLink = (text: string) => /https?:\/\/\S+/.exec(text)?.[0];

function formatMail(message: MailMessage): string {
  const link = firstLink(message.text);
  const head = [`To:      ${message.to}`, `Subject: ${message.subject}`, ...(link === undefined ? [] : [`Link:`, link])];
  return `${RULE}\n${head.join("\n")}\n\n${message.text.trimEnd()}\n${RULE}\n`;
}
