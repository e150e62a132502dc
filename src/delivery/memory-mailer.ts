import type { Mailer, MailMessage } from "./mailer.ts";

/** Tests only: keeps what was sent. */
export function createMemoryMailer() {
  const sent: MailMessage[] = [];
  const mailer: Mailer & { sent: MailMessage[] } = {
    sent,
    async send(message) {
      sent.push(message);
    },
    async close() {},
  };
  return mailer;
}
