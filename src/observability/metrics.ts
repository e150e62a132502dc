import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { renderAggregate } from "./aggregate-metrics.ts";
import type { Logger } from "./logger.ts";
import type { MetricFamily } from "./metric-family.ts";
import { createRequestStats } from "./request-stats.ts";

export type MetricsDeps = {
  /** Sessions not yet expired, counted at scrape time. */
  countActiveSessions(): Promise<number>;
  isRevocationBusConnected(): boolean;
  /** Outbox rows waiting (pending) or given up on (failed), per kind, counted at scrape time. */
  countOutbox(): Promise<Array<{ kind: string; status: string; count: number }>>;
  /** postgres.js has no live pool statistics: the configured ceiling is what can be reported honestly. */
  maxDbConnections: number;
  logger: Logger;
  /**
   * In a worker process (WORKERS > 1): every worker's snapshot, this one's included, gathered by the supervisor, so
   * that a scrape, whichever worker it reaches, reports the whole instance. Absent: this process alone, no IPC.
   */
  gatherWorkers?: () => Promise<MetricFamily[][]>;
};

export type RequestObservation = { method: string; route: string; status: number; durationSeconds: number };

/** Login is argon2id (tens to hundreds of ms); everything else should sit in the low buckets. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Prometheus metrics on a registry of this app's own, never prom-client's global one: tests build many apps in one
 * process, and a global registry would refuse the second registration of every name.
 */
export function createMetrics(deps: MetricsDeps) {
  const registry = new Registry();
  // process_* and nodejs_* (event-loop lag from monitorEventLoopDelay, heap, GC); they work on Bun and on Node.
  collectDefaultMetrics({ register: registry });

  const requests = createRequestStats(
    { total: "servauth_http_requests_total", duration: "servauth_http_request_duration_seconds" },
    DURATION_BUCKETS,
  );
  const securityEvents = new Counter({
    name: "servauth_security_events_total",
    help: "Audited security events (login.succeeded, login.failed, token.refresh_reused, session.revoked, ...)",
    labelNames: ["type"] as const,
    registers: [registry],
  });
  const outboxAttempts = new Counter({
    name: "servauth_outbox_attempts_total",
    help: "Outbox attempts (mail, webhook, compose), by result: delivered (composed, for an intent), retry (failed, will be retried), failed (retries exhausted, or the receiver said it is gone)",
    labelNames: ["kind", "result"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "servauth_outbox_messages",
    help: "Outbox rows by kind (mail, webhook, compose) and status: pending (waiting or being retried), failed (given up on; mail and webhooks listed by the admin API); NaN when the database did not answer",
    labelNames: ["kind", "status"] as const,
    registers: [registry],
    // Rows every worker shares: the same figure from each.
    aggregator: "first",
    async collect() {
      this.reset();
      try {
        for (const kind of ["mail", "webhook"]) for (const status of ["pending", "failed"]) this.set({ kind, status }, 0);
        for (const row of await deps.countOutbox()) this.set({ kind: row.kind, status: row.status }, row.count);
      } catch (error) {
        deps.logger.warn({ err: error }, "outbox not counted");
        for (const kind of ["mail", "webhook"]) for (const status of ["pending", "failed"]) this.set({ kind, status }, Number.NaN);
      }
    },
  });
  new Gauge({
    name: "servauth_active_sessions",
    help: "Sessions in the database that have not expired (NaN when the database did not answer)",
    registers: [registry],
    // A count of rows every worker shares: the same figure from each, not a share to add up.
    aggregator: "first",
    async collect() {
      try {
        this.set(await deps.countActiveSessions());
      } catch (error) {
        // A scrape during a database outage still reports everything else; NaN says "unknown", not "zero".
        deps.logger.warn({ err: error }, "active sessions not counted");
        this.set(Number.NaN);
      }
    },
  });
  new Gauge({
    name: "servauth_revocation_bus_connected",
    help: "1 while the revocation bus delivers (with WORKERS, on every worker); 0 while sessions are validated against the database instead",
    registers: [registry],
    aggregator: "min",
    collect() {
      this.set(deps.isRevocationBusConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: "servauth_db_pool_max_connections",
    help: "Configured ceiling of database connections (the driver exposes no live pool statistics)",
    registers: [registry],
  }).set(deps.maxDbConnections);
  new Gauge({
    name: "servauth_workers_reporting",
    help: "Server processes whose figures this scrape adds up (WORKERS; fewer when one did not answer in time)",
    registers: [registry],
  }).set(1);

  const { gatherWorkers } = deps;
  const snapshot = async (): Promise<MetricFamily[]> => [...(await registry.getMetricsAsJSON()), ...requests.snapshot()];
  return {
    contentType: registry.contentType,
    render:
      gatherWorkers === undefined
        ? async () => `${await registry.metrics()}\n${requests.render()}`
        : async () => renderAggregate(await gatherWorkers()),
    /** This process's figures as data, for the supervisor's aggregation. */
    snapshot,
    observeRequest({ method, route, status, durationSeconds }: RequestObservation): void {
      requests.observe(method, route, status, durationSeconds);
    },
    countSecurityEvent(type: string): void {
      securityEvents.inc({ type });
    },
    countOutboxAttempt(kind: string, result: string): void {
      outboxAttempts.inc({ kind, result });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
