import type { AppConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import { createConsoleMailer } from "./console-mailer.ts";
import type { Mailer } from "./mailer.ts";
import { createSmtpMailer } from "./smtp-mailer.ts";

/** SMTP when SMTP_URL is set; otherwise mail is written to the log (the development default). */
export function createMailer(config: AppConfig, logger: Logger): Mailer {
  if (config.mail.smtpUrl !== null) return createSmtpMailer(config.mail.smtpUrl, config.mail.from);
  if (config.isProduction) logger.warn("SMTP_URL is not set: mail goes to the log, users receive nothing");
  return createConsoleMailer(logger);
}
