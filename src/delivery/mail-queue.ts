import type { Logger } from "../observability/logger.ts";
import type { Mailer, MailMessage } from "./mailer.ts";

export type MailQueueOptions = { attempts: number; firstRetryDelayMs: number };

/**
 * Sending never happens on the request's time: `enqueue` returns at once, so neither the answer nor its timing
 * says whether a mail went out (no account enumeration). A failed send is retried with exponential backoff and
 * logged; it never throws into a request or crashes the process.
 */
export function createMailQueue(mailer: Mailer, logger: Logger, options: MailQueueOptions) {
  const inFlight = new Set<Promise<void>>();

  async function deliver(message: MailMessage) {
    for (let attempt = 1; attempt <= options.attempts; attempt++) {
      try {
        await mailer.send(message);
        return;
      } catch (error) {
        const last = attempt === options.attempts;
        logger[last ? "error" : "warn"](
          { err: error, attempt, subject: message.subject },
          last ? "mail not delivered; giving up" : "mail not delivered; retrying",
        );
        if (!last) await new Promise((resolve) => setTimeout(resolve, options.firstRetryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  return {
    enqueue(message: MailMessage): void {
      const sending = deliver(message).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    },
    /** Resolves when every queued mail has been delivered or given up on (shutdown, tests). */
    async drain(): Promise<void> {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

export type MailQueue = ReturnType<typeof createMailQueue>;
