import type { Database, Transaction } from "../db/client.ts";
import type { MailMessage } from "../delivery/mailer.ts";
import type { Logger } from "../observability/logger.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { withinTime } from "../within-time.ts";
import { afterAnswer } from "./after-answer.ts";
import { type Intent, sealIntent } from "./compose-channel.ts";
import { sealMail } from "./mail-channel.ts";
import type { Executor, OutboxStore } from "./outbox-store.ts";
import type { OutboxWorker } from "./outbox-worker.ts";

export type MailOutboxOptions = {
  db: Database;
  store: OutboxStore;
  box: SecretBox;
  /** Seals compose intents. */
  intentBox: SecretBox;
  worker: Pick<OutboxWorker, "runUntilIdle">;
  /** Tells this instance's worker, and the others', that a row was written. */
  wake: () => void;
  logger: Logger;
  now: () => Date;
};

/**
 * Mail goes out through the outbox: `enqueue` writes the sealed message to the database (in the caller's
 * transaction when given one, so the change and its mail commit together) and a worker delivers it, retrying
 * with backoff, in this instance or another, even after a restart. Sending never happens on the request's time.
 */
export function createMailOutbox(options: MailOutboxOptions) {
  const { store, box } = options;

  async function write(executor: Executor, message: MailMessage): Promise<void> {
    await store.add(executor, [{ kind: "mail", payload: sealMail(box, message) }], options.now());
  }

  /** The wake-up a request set off for once it has its answer; drain() waits for it, so none is left to come. */
  let wakeAfterAnswer: Promise<void> | null = null;
  const scheduleWake = () => {
    wakeAfterAnswer ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        wakeAfterAnswer = null;
        options.wake();
        resolve();
      }),
    );
  };

  async function drain(): Promise<void> {
    await wakeAfterAnswer;
    await options.worker.runUntilIdle();
  }

  return {
    /**
     * Writes the mail to the outbox. With `tx`, in that transaction: the mail exists exactly when the change
     * commits; run it in `transaction`, or call `wake` after the commit, so the worker is woken then (otherwise the
     * slow poll finds it). Without, on its own, and the worker is woken at once.
     */
    async enqueue(message: MailMessage, tx?: Executor): Promise<void> {
      await write(tx ?? options.db, message);
      if (tx === undefined) options.wake();
    },
    /**
     * For a request whose answer must not tell whether the address has an account: writes the request as a sealed
     * intent, one row alike for every address, and nothing else. Everything the address decides (the lookup, a
     * token, an audit event, whether a mail goes out at all) is done by the outbox's compose lane
     * (compose-channel.ts), in this instance or another, after a restart too. The worker is woken once the request
     * has its answer (after-answer.ts) and from a later turn of the event loop, so none of that work interleaves
     * with the request's own.
     */
    async compose<I extends Intent>(intent: I): Promise<void> {
      await store.add(options.db, [{ kind: "compose", payload: sealIntent(options.intentBox, intent) }], options.now());
      afterAnswer(scheduleWake);
    },
    /** After a transaction that enqueued through `tx` commits: deliver now rather than at the next poll. */
    wake(): void {
      options.wake();
    },
    /** Runs `fn` in a transaction and wakes the worker once it commits: the change and its mail, together. */
    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      const result = await options.db.transaction(fn);
      options.wake();
      return result;
    },
    /** Resolves when nothing in the outbox is due now: intents composed, their mail and all other mail sent. */
    drain,
    /** drain() for at most `ms` (shutdown): what is still in flight is left to its lease, and said so. */
    async drainWithin(ms: number): Promise<void> {
      try {
        await withinTime(drain(), ms, () => new Error("mail drain timed out"));
      } catch {
        options.logger.warn({ timeoutMs: ms }, "mail still composing or sending at shutdown; what is written waits in the outbox");
      }
    },
  };
}

export type MailOutbox = ReturnType<typeof createMailOutbox>;
