import type { Transaction } from "../db/client.ts";
import type { MailMessage } from "../delivery/mailer.ts";
import { AppError } from "../errors.ts";
import type { SecretBox } from "../tokens/secret-box.ts";
import { sealMail } from "./mail-channel.ts";
import type { OutboxStore } from "./outbox-store.ts";
import type { DeliveryOutcome, OutboxChannel } from "./outbox-worker.ts";
import type { RetrySchedule } from "./retry-schedule.ts";

/** The box's purpose label: an intent carries an address, and may carry a one-time code or a password hash. */
export const COMPOSE_BOX_PURPOSE = "outbox-compose";

/** What a request asked for, as data: `type` names the composer that decides what it comes to. */
export type Intent = { type: string };

/**
 * What composing an intent came to: the mail to send (null: none is due) and what else is written with it (an audit
 * event), both in the transaction that settles the intent, so a composer run twice (a lease that ended) writes them once.
 */
export type Composition = { mail: MailMessage | null; alsoWrite?: (tx: Transaction) => Promise<void> };
export type Composer<I extends Intent> = (intent: I) => Promise<Composition>;
/** One composer for each intent type of `I`. */
export type Composers<I extends Intent> = { [T in I["type"]]: Composer<Extract<I, { type: T }>> };

export const sealIntent = <I extends Intent>(box: SecretBox, intent: I): string => box.seal(JSON.stringify(intent));
export const openIntent = (box: SecretBox, sealed: string): Intent => JSON.parse(box.open(sealed)) as Intent;

/**
 * An error as its kind and code only (an AppError's code, a database's SQLSTATE, a system call's errno name): a
 * failed query's message quotes its parameters, and an intent's parameters are what its seal protects.
 */
export function describeWithoutData(error: unknown): string {
  if (error instanceof AppError) return `AppError ${error.code}`;
  if (!(error instanceof Error)) return "a non-Error value was thrown";
  const codes: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") codes.push(String(code));
  }
  return codes.length === 0 ? error.name : `${error.name} (${codes.join(", ")})`;
}

export type ComposeChannelDeps = {
  store: OutboxStore;
  /** Opens intents. */
  box: SecretBox;
  /** Seals the mail an intent comes to. */
  mailBox: SecretBox;
  retrySchedule: RetrySchedule;
  now: () => Date;
  /** Tells the lanes (this instance's and the others') that a composed mail (or a webhook delivery) was written. */
  wake: () => void;
};

/**
 * Composes intents (MailOutbox.compose) in the outbox's compose lane: opens one, runs its type's composer, and
 * writes the mail it came to. A composer that throws is retried on `retrySchedule`. Composers are registered once
 * the services they use exist; until then the lane claims nothing (isReady).
 */
export function createComposeChannel(deps: ComposeChannelDeps) {
  const composers = new Map<string, Composer<Intent>>();
  /** Outcomes that write rows (a mail, an audit event with its webhooks): the lanes are woken once they commit. */
  const writing = new WeakSet<DeliveryOutcome>();

  const channel: OutboxChannel = {
    retrySchedule: deps.retrySchedule,
    isReady: () => composers.size > 0,

    async deliver(row) {
      let intent: Intent;
      try {
        intent = openIntent(deps.box, row.payload);
      } catch {
        return { ok: false, error: "sealed intent does not open (AUTH_SECRET changed?)", final: true };
      }
      const compose = composers.get(intent.type);
      // Retried: an instance of another version (a rolling deploy) may know it.
      if (compose === undefined) return { ok: false, error: `no composer for ${intent.type} in this instance` };
      const { mail, alsoWrite } = await compose(intent);
      const outcome: DeliveryOutcome = {
        ok: true,
        alsoWrite: async (tx) => {
          await alsoWrite?.(tx);
          if (mail !== null) await deps.store.add(tx, [{ kind: "mail", payload: sealMail(deps.mailBox, mail) }], deps.now());
        },
      };
      if (mail !== null || alsoWrite !== undefined) writing.add(outcome);
      return outcome;
    },

    // What failed, never its message: see OutboxChannel.describeError.
    describeError: describeWithoutData,

    async afterAttempt(_row, outcome, settled) {
      if (settled === "delivered" && writing.has(outcome)) deps.wake();
    },
  };

  return {
    channel,
    /** Adds composers (each module that writes intents brings its own). */
    register<I extends Intent>(more: Composers<I>): void {
      // Each composer is keyed by the type it takes, so it is only ever handed an intent of that type.
      for (const [type, composer] of Object.entries(more)) composers.set(type, composer as Composer<Intent>);
    },
  };
}
