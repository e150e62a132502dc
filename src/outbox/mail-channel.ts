import type { Mailer, MailMessage } from "../delivery/mailer.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import type { OutboxChannel } from "./outbox-worker.ts";
import type { RetrySchedule } from "./retry-schedule.ts";

/** The box's purpose label: mail at rest carries one-time tokens (reset links, codes), so it is sealed. */
export const MAIL_BOX_PURPOSE = "outbox-mail";

export const sealMail = (box: SecretBox, message: MailMessage): string => box.seal(JSON.stringify(message));
export const openMail = (box: SecretBox, sealed: string): MailMessage => JSON.parse(box.open(sealed)) as MailMessage;

/** Delivers sealed mail rows through the Mailer (SMTP in production). */
export function createMailChannel(deps: { mailer: Mailer; box: SecretBox; retrySchedule: RetrySchedule }): OutboxChannel {
  return {
    retrySchedule: deps.retrySchedule,
    async deliver(row) {
      let message: MailMessage;
      try {
        message = openMail(deps.box, row.payload);
      } catch {
        // Sealed under another AUTH_SECRET: no retry will open it.
        return { ok: false, error: "sealed mail does not open (AUTH_SECRET changed?)", final: true };
      }
      try {
        await deps.mailer.send(message);
        return { ok: true };
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
