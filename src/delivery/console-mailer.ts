import type { Logger } from "../observability/logger.ts";
import type { Mailer } from "./mailer.ts";

/**
 * Development default when SMTP_URL is unset: the message, with its link, goes to the log. Logged under `mail`
 * on purpose: the log's redaction of `token` fields must not hide the link a developer needs to click.
 */
export function createConsoleMailer(logger: Logger): Mailer {
  return {
    async send(message) {
      logger.info({ mail: { to: message.to, subject: message.subject, text: message.text } }, `mail to ${message.to}: ${message.subject}`);
    },
    async close() {},
  };
}
