import nodemailer from "nodemailer";
import type { Mailer } from "./mailer.ts";

/**
 * SMTP through nodemailer. `smtp://user:pass@host:587` upgrades with STARTTLS when the server offers it;
 * `smtps://host:465` is TLS from the first byte. Timeouts are short: a dead server must not pile up sends.
 */
export function createSmtpMailer(url: string, from: string): Mailer {
  const parsed = new URL(url);
  const secure = parsed.protocol === "smtps:";
  const transport = nodemailer.createTransport(
    {
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
      secure,
      auth: parsed.username ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : undefined,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 10_000,
    },
    { from },
  );
  return {
    async send(message) {
      await transport.sendMail(message);
    },
    async close() {
      transport.close();
    },
  };
}
