import type { Logger } from "../observability/logger.ts";
import { withinTime } from "../within-time.ts";
import type { Transaction } from "../db/client.ts";
import type { OutboxKind, OutboxMessage, OutboxStore } from "./outbox-store.ts";
import type { RetrySchedule } from "./retry-schedule.ts";

/**
 * What one delivery attempt came to. `final`: no retry will change it (a webhook receiver answered 410).
 * `alsoWrite`: rows the delivery produced (a composed intent's mail), written in the transaction that settles the row,
 * so they exist exactly when the row is delivered, once, however often it was attempted.
 */
export type DeliveryOutcome =
  | { ok: true; statusCode?: number; alsoWrite?: (tx: Transaction) => Promise<void> }
  | { ok: false; error: string; statusCode?: number; final?: boolean };

/** One delivery channel: how to deliver, when to retry, and what to do once a message is settled. */
export type OutboxChannel = {
  deliver(message: OutboxMessage): Promise<DeliveryOutcome>;
  retrySchedule: RetrySchedule;
  /** After each attempt's outcome is stored (a webhook endpoint tracks its failures here). */
  afterAttempt?(message: OutboxMessage, outcome: DeliveryOutcome, settled: "delivered" | "retry" | "failed"): Promise<void>;
  /** False while it cannot deliver yet (compose, until its composers are wired): its lane claims nothing meanwhile. */
  isReady?(): boolean;
  /**
   * How a thrown error is stored and logged, for a channel whose payload is sealed: a failed query's message quotes
   * its parameters (an address, a hash), which must not reach the outbox tables or the log in clear. Default: the
   * error's message, and the error in full in the log.
   */
  describeError?(error: unknown): string;
};

export type AttemptResult = "delivered" | "retry" | "failed";

/**
 * A lane's bounds: deliveries in flight at once, and (webhooks) at most `perEndpoint` of them to one endpoint, so
 * a receiver that never answers holds that many slots of this instance's lane and the others stay free for the
 * other endpoints.
 */
export type LaneLimits = { size: number; perEndpoint?: number };

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
   * Each kind is its own lane, claiming only its own rows: a receiver that never answers (webhooks) cannot hold a
   * password-reset mail behind it, and a flood of compose intents waits in the database, not in front of mail.
   */
  lanes: Record<OutboxKind, LaneLimits>;
  onAttempt?: (kind: OutboxKind, result: AttemptResult) => void;
};

/**
 * Delivers due outbox rows, one lane per kind: each lane keeps up to `size` deliveries in flight, claiming (SKIP
 * LOCKED, see OutboxStore.claim) as slots free up, and stores each attempt and its outcome. Woken when a row is
 * written (here or, through the revocation bus, in another instance), and by a slow poll. The same code runs on
 * PGlite in one process.
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
      outcome = { ok: false, error: channel?.describeError?.(error) ?? (error instanceof Error ? error.message : String(error)) };
    }
    const latencyMs = Math.round(performance.now() - started);
    const error = outcome.ok ? null : outcome.error.slice(0, 500);
    await store.recordAttempt({ messageId: message.id, attempt: message.attempts, startedAt, latencyMs, statusCode: outcome.statusCode ?? null, error });
    let result: AttemptResult;
    let settled: boolean;
    if (outcome.ok) {
      settled = await store.markDelivered(message, now(), outcome.alsoWrite);
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

  /** One kind's lane: claims while it has free slots, and again each time a delivery ends. */
  function createLane(kind: OutboxKind, limits: LaneLimits) {
    const inFlight = new Set<Promise<void>>();
    /** Deliveries in flight per endpoint (webhooks), for `perEndpoint`. */
    const perEndpoint = new Map<string, number>();
    let claiming: Promise<void> | null = null;
    let wokenMeanwhile = false;

    const countEndpoint = (endpointId: string, by: 1 | -1) => {
      const count = (perEndpoint.get(endpointId) ?? 0) + by;
      if (count > 0) perEndpoint.set(endpointId, count);
      else perEndpoint.delete(endpointId);
    };
    const cap = limits.perEndpoint;
    const endpointsAtCap = () => (cap === undefined ? [] : [...perEndpoint].filter(([, count]) => count >= cap).map(([endpointId]) => endpointId));

    function start(message: OutboxMessage): void {
      const endpointId = message.endpointId;
      if (endpointId !== null) countEndpoint(endpointId, 1);
      const delivery: Promise<void> = attempt(message)
        .catch((error: unknown) => {
          const describe = channels[kind]?.describeError;
          const cause = describe === undefined ? { err: error } : { error: describe(error) };
          logger.error({ ...cause, outboxId: message.id }, "outbox attempt not recorded; the lease will retry it");
        })
        .finally(() => {
          inFlight.delete(delivery);
          if (endpointId !== null) countEndpoint(endpointId, -1);
          if (!stopped) void fill();
        });
      inFlight.add(delivery);
    }

    async function claimWhileFree(): Promise<void> {
      for (;;) {
        wokenMeanwhile = false;
        const free = limits.size - inFlight.size;
        if (free <= 0 || stopped || channels[kind]?.isReady?.() === false) return;
        // With a per-endpoint cap, one row at a time: a batch could hold several rows of one endpoint.
        const claimed = await store.claim(now(), options.leaseMs, cap === undefined ? free : 1, kind, endpointsAtCap());
        // Stopped meanwhile (shutdown): what was just claimed is retried after its lease, by whoever runs next.
        if (stopped) return;
        for (const message of claimed) start(message);
        if (claimed.length === 0 && !wokenMeanwhile) return;
      }
    }

    function fill(): Promise<void> {
      if (claiming !== null) {
        wokenMeanwhile = true;
        return claiming;
      }
      claiming = claimWhileFree()
        .catch((error: unknown) => logger.error({ err: error, kind }, "outbox claim failed; the next wake-up or poll retries"))
        .finally(() => {
          claiming = null;
        });
      return claiming;
    }

    return {
      fill,
      /** What this lane is doing now: its claim and its deliveries. */
      busy: (): Array<Promise<void>> => (claiming === null ? [...inFlight] : [claiming, ...inFlight]),
    };
  }

  const lanes = (Object.entries(options.lanes) as Array<[OutboxKind, LaneLimits]>).map(([kind, limits]) => createLane(kind, limits));
  const run = () => Promise.all(lanes.map((lane) => lane.fill()));
  const busy = () => lanes.flatMap((lane) => lane.busy());

  const timer = setInterval(() => void run(), options.pollMs);
  timer.unref?.();

  return {
    /** Something was written: deliver it (never throws; a failure waits for the next wake-up or poll). */
    wake(): void {
      if (!stopped) void run();
    },
    /**
     * Resolves once nothing is due now: every due row delivered, rescheduled or failed, and what those wrote (a
     * composed intent's mail) too (tests, shutdown).
     */
    async runUntilIdle(): Promise<void> {
      while (!stopped) {
        await run();
        const pending = busy();
        // Every lane claimed nothing more and nothing is in flight.
        if (pending.length === 0) return;
        await Promise.all(pending);
      }
    },
    /** Stops polling and waits up to `ms` for deliveries in flight; rows left claimed are retried after their lease. */
    async stop(ms: number): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const pending = busy();
      if (pending.length === 0) return;
      try {
        await withinTime(Promise.all(pending), ms, () => new Error("outbox deliveries still in flight"));
      } catch {
        logger.warn({ timeoutMs: ms }, "outbox deliveries still in flight at shutdown; they are retried after their lease");
      }
    },
  };
}

export type OutboxWorker = ReturnType<typeof createOutboxWorker>;
