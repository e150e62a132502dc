import type { Database } from "../db/client.ts";
import type { MailMessage } from "../delivery/mailer.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { withinTime } from "../within-time.ts";
import { afterAnswer } from "./after-answer.ts";
import { sealMail } from "./mail-channel.ts";
import type { Executor, OutboxStore } from "./outbox-store.ts";
import type { OutboxWorker } from "./outbox-worker.ts";

type Build = () => Promise<MailMessage | null>;
type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

export type MailOutboxOptions = {
  db: Database;
  store: OutboxStore;
  box: SecretBox;
  worker: Pick<OutboxWorker, "runUntilIdle">;
  /** Tells this instance's worker, and the others', that a row was written. */
  wake: () => void;
  logger: Logger;
  now: () => Date;
  /**
   * Bounds on `compose` jobs, which may be costly (a registration hashes a password): at most `running` at once, so
   * a flood of them cannot starve the requests that answer (logins hash too), and at most `waiting` behind those.
   * A job past both is dropped: the flood costs the flooder's mail, not everyone's latency.
   */
  compose: { running: number; waiting: number };
  /** Told of each dropped job (a metric). */
  onComposeDropped?: () => void;
};

/**
 * Mail goes out through the outbox: `enqueue` writes the sealed message to the database (in the caller's
 * transaction when given one, so the change and its mail commit together) and a worker delivers it, retrying
 * with backoff, in this instance or another, even after a restart. Sending never happens on the request's time.
 */
export function createMailOutbox(options: MailOutboxOptions) {
  const { store, box, logger } = options;
  const composing = new Set<Promise<void>>();
  const waiting: Build[] = [];
  let running = 0;

  async function write(executor: Executor, message: MailMessage): Promise<void> {
    await store.add(executor, [{ kind: "mail", payload: sealMail(box, message) }], options.now());
  }

  /**
   * Builds the mail once (it may write a token) and writes it to the outbox. Null: no mail is due. Nothing is
   * durable before the build finishes: a crash in between loses this mail, like the request it answers for.
   */
  async function composeThenEnqueue(build: Build) {
    let message: MailMessage | null;
    try {
      message = await build();
    } catch (error) {
      // An AppError is an outcome the request could have had (two registrations racing for one username): expected,
      // and the caller was told nothing either way. Anything else is a fault.
      if (error instanceof AppError) logger.info({ code: error.code }, "mail not composed; nothing was sent");
      else logger.error({ err: error }, "mail not composed; nothing was sent");
      return;
    }
    if (message === null) return;
    try {
      await write(options.db, message);
      options.wake();
    } catch (error) {
      logger.error({ err: error, subject: message.subject }, "composed mail not written to the outbox; nothing will be sent");
    }
  }

  function start(build: Build) {
    running++;
    const job = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => composeThenEnqueue(build))
      .finally(() => {
        composing.delete(job);
        running--;
        // Started before this job leaves `composing`, so drain() never sees an empty set while work waits.
        const next = waiting.shift();
        if (next !== undefined) start(next);
      });
    composing.add(job);
  }

  async function drain(): Promise<void> {
    while (composing.size > 0) await Promise.all([...composing]);
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
     * For a request whose answer must not tell whether the address has an account: everything the address
     * decides (the lookup, a token, whether a mail goes out at all, the outbox write) runs after the answer (once
     * the request's handling has settled, see after-answer.ts, then from a later turn of the event loop), so the
     * request does the same work for every address (queueing or dropping does not depend on the address either).
     */
    compose(build: Build): void {
      afterAnswer(() => {
        if (running < options.compose.running) start(build);
        else if (waiting.length < options.compose.waiting) waiting.push(build);
        else {
          logger.warn({ running, waiting: waiting.length }, "mail not composed; the compose queue is full, job dropped");
          options.onComposeDropped?.();
        }
      });
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
    /** Resolves when every compose job has finished and nothing in the outbox is due now. */
    drain,
    /** drain() for at most `ms` (shutdown): what is still composing is abandoned, and said so; written rows wait in the outbox. */
    async drainWithin(ms: number): Promise<void> {
      try {
        await withinTime(drain(), ms, () => new Error("mail drain timed out"));
      } catch {
        logger.warn({ composing: composing.size + waiting.length, timeoutMs: ms }, "mail still composing or sending at shutdown; written mail waits in the outbox");
      }
    },
  };
}

export type MailOutbox = ReturnType<typeof createMailOutbox>;
