import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { Mailer } from "../delivery/mailer.ts";
import type { Logger } from "../observability/logger.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import { createSecretBox } from "../tokens/secret-box.ts";
import { COMPOSE_BOX_PURPOSE, type Composers, createComposeChannel, type Intent } from "./compose-channel.ts";
import { createMailChannel, MAIL_BOX_PURPOSE } from "./mail-channel.ts";
import { createMailOutbox } from "./mail-outbox.ts";
import type { OutboxKind, OutboxStore } from "./outbox-store.ts";
import { type AttemptResult, createOutboxWorker, type LaneLimits, type OutboxChannel } from "./outbox-worker.ts";
import { exponentialBackoff } from "./retry-schedule.ts";

export type MailRetry = { attempts: number; firstRetryDelayMs: number };

/** 30 s, 1, 2, 4, 8, 16, 32 min: an SMTP outage of about an hour loses nothing. */
const MAIL_RETRY: MailRetry = { attempts: 8, firstRetryDelayMs: 30_000 };
const MAIL_MAX_RETRY_DELAY_MS = 60 * 60_000;
/**
 * Deliveries in flight per kind, each kind its own lane (mail never waits behind a webhook receiver that does not
 * answer, nor behind a flood of compose intents); a few at a time keeps the worker to a few of the pool's
 * connections. One delivery per webhook endpoint at a time: a receiver that never answers holds one slot, not the
 * lane. Two intents composed at once leave the cores to the requests that answer while a flood is worked off.
 */
const LANES: Record<OutboxKind, LaneLimits> = { mail: { size: 4 }, webhook: { size: 4, perEndpoint: 1 }, compose: { size: 2 } };

export type OutboxDeps = {
  config: AppConfig;
  db: Database;
  store: OutboxStore;
  bus: RevocationBus;
  mailer: Mailer;
  logger: Logger;
  now: () => Date;
  mailRetry?: MailRetry | undefined;
  /** Channels besides mail and compose (webhooks), keyed by kind. */
  channels?: Partial<Record<OutboxKind, OutboxChannel>>;
  onAttempt: (kind: OutboxKind, result: AttemptResult) => void;
};

/**
 * The outbox's moving parts for one instance: the worker, woken through the revocation bus (so a row written by
 * any instance wakes every one), and mail on top of it.
 */
export function createOutbox(deps: OutboxDeps) {
  const { config, store, bus, logger, now } = deps;
  const retry = deps.mailRetry ?? MAIL_RETRY;
  const retrySchedule = exponentialBackoff({ attempts: retry.attempts, firstDelayMs: retry.firstRetryDelayMs, maxDelayMs: MAIL_MAX_RETRY_DELAY_MS });
  const mailBox = createSecretBox(config.authSecret, MAIL_BOX_PURPOSE);
  const intentBox = createSecretBox(config.authSecret, COMPOSE_BOX_PURPOSE);
  // publish() wakes this instance's worker at once and the others' through the bus; it never throws.
  const wake = () => void bus.publish({ kind: "outbox" });
  // A composer that fails (the database went away) is retried like a mail the SMTP server refused.
  const compose = createComposeChannel({ store, box: intentBox, mailBox, retrySchedule, now, wake });
  const channels: Record<OutboxKind, OutboxChannel> = {
    mail: createMailChannel({ mailer: deps.mailer, box: mailBox, retrySchedule }),
    webhook: deps.channels?.webhook ?? unavailable,
    compose: compose.channel,
  };
  const worker = createOutboxWorker({
    store,
    channels,
    logger,
    now,
    leaseMs: config.outbox.leaseMs,
    pollMs: config.outbox.pollMs,
    lanes: LANES,
    onAttempt: deps.onAttempt,
  });
  bus.subscribe((event) => {
    if (event.kind === "outbox") worker.wake();
  });
  const mail = createMailOutbox({ db: deps.db, store, box: mailBox, intentBox, worker, wake, logger, now });
  return {
    worker,
    mail,
    wake,
    /** Wires the composers of compose intents (the services that write intents bring them) and composes what waits. */
    composeWith<I extends Intent>(composers: Composers<I>): void {
      compose.register(composers);
      worker.wake();
    },
    /** OUTBOX_RETENTION_DAYS: delivered rows and settled intents go; failed deliveries stay for admins. */
    purgeDelivered: () => store.purgeDelivered(new Date(now().getTime() - config.outbox.retentionDays * 86_400_000)),
  };
}

/** A kind this instance cannot deliver yet: retried later, where it can be (never lost by a mixed-version rollout). */
const unavailable: OutboxChannel = {
  retrySchedule: () => 60_000,
  deliver: async (message) => ({ ok: false, error: `no ${message.kind} channel in this instance` }),
};
