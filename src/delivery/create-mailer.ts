import type { AppConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import { createLoggingMailer, createPrintingMailer, type MailOutput } from "./console-mailer.ts";
import type { Mailer } from "./mailer.ts";
import { createSmtpMailer } from "./smtp-mailer.ts";

/**
 * SMTP when SMTP_URL is set. Otherwise in development each mail is printed to `output` for the developer; in
 * production (where parseEnv allows this only with MAIL_TRANSPORT=log) each goes to the log, with a warning.
 */
export function createMailer(config: AppConfig, logger: Logger, output: MailOutput): Mailer {
  if (config.mail.transport === "smtp") return createSmtpMailer(config.mail.smtpUrl, config.mail.from);
  if (!config.isProduction) return createPrintingMailer(output);
  logger.warn("MAIL_TRANSPORT=log: mail, with its password-reset links and sign-in codes, is written to the log; users receive nothing");
  return createLoggingMailer(logger);
}
