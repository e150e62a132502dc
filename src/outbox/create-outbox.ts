import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { Mailer } from "../delivery/mailer.ts";
import type { Logger } from "../observability/logger.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import { createSecretBox } from "../tokens/secret-box.ts";
import { createMailChannel, MAIL_BOX_PURPOSE } from "./mail-channel.ts";
import { createMailOutbox } from "./mail-outbox.ts";
import type { OutboxKind, OutboxStore } from "./outbox-store.ts";
import { type AttemptResult, createOutboxWorker, type OutboxChannel } from "./outbox-worker.ts";
import { exponentialBackoff } from "./retry-schedule.ts";

export type MailRetry = { attempts: number; firstRetryDelayMs: number };

/** 30 s, 1, 2, 4, 8, 16, 32 min: an SMTP outage of about an hour loses nothing. */
const MAIL_RETRY: MailRetry = { attempts: 8, firstRetryDelayMs: 30_000 };
const MAIL_MAX_RETRY_DELAY_MS = 60 * 60_000;
// Deliveries in flight per kind, each kind its own lane (mail never waits behind a webhook receiver that does not
// answer); a few at a time keeps the worker to a few of the pool's connections.
const LANES: Record<OutboxKind, number> = { mail: 4, webhook: 4 };
// Two at once leaves the cores to the requests that answer while a registration flood hashes in the background;
// 256 behind them is a burst of legitimate sign-ups, not a flood's backlog.
const MAIL_COMPOSE = { running: 2, waiting: 256 };

export type OutboxDeps = {
  config: AppConfig;
  db: Database;
  store: OutboxStore;
  bus: RevocationBus;
  mailer: Mailer;
  logger: Logger;
  now: () => Date;
  mailRetry?: MailRetry | undefined;
  /** Channels besides mail (webhooks), keyed by kind. */
  channels?: Partial<Record<OutboxKind, OutboxChannel>>;
  onAttempt: (kind: OutboxKind, result: AttemptResult) => void;
  onComposeDropped: () => void;
};

/**
 * The outbox's moving parts for one instance: the worker, woken through the revocation bus (so a row written by
 * any instance wakes every one), and mail on top of it.
 */
export function createOutbox(deps: OutboxDeps) {
  const { config, store, bus, logger, now } = deps;
  const retry = deps.mailRetry ?? MAIL_RETRY;
  const channels: Record<OutboxKind, OutboxChannel> = {
    mail: createMailChannel({
      mailer: deps.mailer,
      box: createSecretBox(config.authSecret, MAIL_BOX_PURPOSE),
      retrySchedule: exponentialBackoff({ attempts: retry.attempts, firstDelayMs: retry.firstRetryDelayMs, maxDelayMs: MAIL_MAX_RETRY_DELAY_MS }),
    }),
    webhook: deps.channels?.webhook ?? unavailable,
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
  // publish() wakes this instance's worker at once and the others' through the bus; it never throws.
  const wake = () => void bus.publish({ kind: "outbox" });
  const mail = createMailOutbox({
    db: deps.db,
    store,
    box: createSecretBox(config.authSecret, MAIL_BOX_PURPOSE),
    worker,
    wake,
    logger,
    now,
    compose: MAIL_COMPOSE,
    onComposeDropped: deps.onComposeDropped,
  });
  return {
    worker,
    mail,
    wake,
    /** OUTBOX_RETENTION_DAYS: delivered rows go; failed ones stay for admins. */
    purgeDelivered: () => store.purgeDelivered(new Date(now().getTime() - config.outbox.retentionDays * 86_400_000)),
  };
}

/** A kind this instance cannot deliver yet: retried later, where it can be (never lost by a mixed-version rollout). */
const unavailable: OutboxChannel = {
  retrySchedule: () => 60_000,
  deliver: async (message) => ({ ok: false, error: `no ${message.kind} channel in this instance` }),
};
