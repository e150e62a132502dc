import type { Logger } from "../observability/logger.ts";
import { withinTime } from "../within-time.ts";
import type { OutboxKind, OutboxMessage, OutboxStore } from "./outbox-store.ts";
import type { RetrySchedule } from "./retry-schedule.ts";

/** What one delivery attempt came to. `final`: no retry will change it (a webhook receiver answered 410). */
export type DeliveryOutcome = { ok: true; statusCode?: number } | { ok: false; error: string; statusCode?: number; final?: boolean };

/** One delivery channel: how to deliver, when to retry, and what to do once a message is settled. */
export type OutboxChannel = {
  deliver(message: OutboxMessage): Promise<DeliveryOutcome>;
  retrySchedule: RetrySchedule;
  /** After each attempt's outcome is stored (a webhook endpoint tracks its failures here). */
  afterAttempt?(message: OutboxMessage, outcome: DeliveryOutcome, settled: "delivered" | "retry" | "failed"): Promise<void>;
};

export type AttemptResult = "delivered" | "retry" | "failed";

export type OutboxWorkerOptions = {
  store: OutboxStore;
  channels: Record<OutboxKind, OutboxChannel>;
  logger: Logger;
  now: () => Date;
  /** How long a claim is held: a worker that dies mid-delivery leaves its rows to others after this. */
  leaseMs: number;
  /** The fallback when no wake-up comes (another instance's rows, a lease that ended, a retry that came due). */
  pollMs: number;
  /**
   * Deliveries in flight at once, per kind. Each kind is its own lane, claiming only its own rows: a receiver
   * that never answers (webhooks) cannot hold a password-reset mail behind it.
   */
  lanes: Record<OutboxKind, number>;
  onAttempt?: (kind: OutboxKind, result: AttemptResult) => void;
};

/**
 * Delivers due outbox rows, one lane per kind: each claims a batch of its kind (SKIP LOCKED, see OutboxStore.claim), delivers each, stores the
 * attempt and its outcome, and claims again until nothing is due. Woken when a row is written (here or, through
 * the revocation bus, in another instance), and by a slow poll. The same code runs on PGlite in one process.
 */
export function createOutboxWorker(options: OutboxWorkerOptions) {
  const { store, channels, logger, now } = options;
  let stopped = false;

  async function attempt(message: OutboxMessage): Promise<void> {
    const channel = channels[message.kind as OutboxKind];
    const startedAt = now();
    const started = performance.now();
    let outcome: DeliveryOutcome;
    try {
      outcome = channel === undefined ? { ok: false, error: `no channel for ${message.kind}`, final: true } : await channel.deliver(message);
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    const latencyMs = Math.round(performance.now() - started);
    const error = outcome.ok ? null : outcome.error.slice(0, 500);
    await store.recordAttempt({ messageId: message.id, attempt: message.attempts, startedAt, latencyMs, statusCode: outcome.statusCode ?? null, error });
    let result: AttemptResult;
    let settled: boolean;
    if (outcome.ok) {
      settled = await store.markDelivered(message, now());
      result = "delivered";
    } else {
      const delay = outcome.final === true || channel === undefined ? null : channel.retrySchedule(message.attempts);
      if (delay === null) {
        settled = await store.markFailed(message, now(), error ?? "");
        if (settled) logger.error({ outboxId: message.id, kind: message.kind, attempts: message.attempts, error }, `${message.kind} not delivered; giving up`);
        result = "failed";
      } else {
        settled = await store.scheduleRetry(message, new Date(now().getTime() + delay), error ?? "");
        if (settled) logger.warn({ outboxId: message.id, kind: message.kind, attempts: message.attempts, error, retryInMs: delay }, `${message.kind} not delivered; will retry`);
        result = "retry";
      }
    }
    if (!settled) {
      // The lease ended mid-attempt and the row is another claim's now: that claim's outcome is the one that counts.
      logger.warn({ outboxId: message.id, kind: message.kind, attempts: message.attempts, outcome: result, leaseMs: options.leaseMs }, `${message.kind} attempt outlived its lease; its outcome is ignored`);
      return;
    }
    options.onAttempt?.(message.kind as OutboxKind, result);
    await channel?.afterAttempt?.(message, outcome, result);
  }

  /** One kind's loop: claims and delivers batches of that kind until a claim comes back empty. */
  function createLane(kind: OutboxKind, size: number) {
    let running: Promise<void> | null = null;
    let wokenMeanwhile = false;

    async function drainDue(): Promise<void> {
      for (;;) {
        wokenMeanwhile = false;
        const claimed = await store.claim(now(), options.leaseMs, size, kind);
        // One failing row (a store error) must not strand the rest of the batch: each settles on its own.
        const settled = await Promise.allSettled(claimed.map(attempt));
        for (const failure of settled) if (failure.status === "rejected") logger.error({ err: failure.reason }, "outbox attempt not recorded; the lease will retry it");
        if (claimed.length === 0 && !wokenMeanwhile) return;
        if (stopped) return;
      }
    }

    return {
      run(): Promise<void> {
        if (running !== null) {
          wokenMeanwhile = true;
          return running;
        }
        running = drainDue()
          .catch((error: unknown) => logger.error({ err: error, kind }, "outbox worker pass failed; the next wake-up or poll retries"))
          .finally(() => {
            running = null;
          });
        return running;
      },
      get running(): Promise<void> | null {
        return running;
      },
    };
  }

  const lanes = (Object.entries(options.lanes) as Array<[OutboxKind, number]>).map(([kind, size]) => createLane(kind, size));
  const run = () => Promise.all(lanes.map((lane) => lane.run()));
  const inFlight = () => lanes.map((lane) => lane.running).filter((pass) => pass !== null);

  const timer = setInterval(() => void run(), options.pollMs);
  timer.unref?.();

  return {
    /** Something was written: deliver it (never throws; a failure waits for the next wake-up or poll). */
    wake(): void {
      if (!stopped) void run();
    },
    /** Resolves once nothing is due now: every due row delivered, rescheduled or failed (tests, shutdown). */
    async runUntilIdle(): Promise<void> {
      if (stopped) return;
      do await run();
      while (inFlight().length > 0 && !stopped);
    },
    /** Stops polling and waits up to `ms` for deliveries in flight; rows left claimed are retried after their lease. */
    async stop(ms: number): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const passes = inFlight();
      if (passes.length === 0) return;
      try {
        await withinTime(Promise.all(passes), ms, () => new Error("outbox deliveries still in flight"));
      } catch {
        logger.warn({ timeoutMs: ms }, "outbox deliveries still in flight at shutdown; they are retried after their lease");
      }
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
