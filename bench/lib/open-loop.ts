import type { Socket } from "bun";

/**
 * An open-loop load generator over Bun's socket API: `connections` keep-alive connections, each sending GET requests
 * on its own fixed schedule (period = connections / rate, a random phase each) whether or not the previous answer has
 * come (HTTP/1.1 pipelining), so a slow server cannot slow the load down. Latency is counted from the *scheduled*
 * send time, so neither a slow server nor a late generator hides a delay; the generator's own lateness is reported
 * separately.
 */

export type Pool = { sockets: Conn[]; dropped(): number; close(): void };
type Conn = { socket: Socket<ConnState>; state: ConnState };
type ConnState = { scheduled: number[]; buffer: string; onAnswer: (status: number, latencyMs: number) => void; closed: boolean };

export type RunResult = {
  rate: number;
  sent: number;
  answered: number;
  non2xx: number;
  dropped: number;
  /** Still unanswered when the run ended (counted as lost). */
  unanswered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How late the generator itself sent, p99 (ms): when high, the machine, not only the server, was saturated. */
  sendLagP99: number;
};

/** Opens `count` connections, `batch` at a time; resolves when all are open. */
export async function openPool(host: string, port: number, count: number, batch = 500): Promise<Pool> {
  const sockets: Conn[] = [];
  let dropped = 0;
  for (let opened = 0; opened < count; opened += batch) {
    const batchSockets = await Promise.all(
      Array.from({ length: Math.min(batch, count - opened) }, async () => {
        const state: ConnState = { scheduled: [], buffer: "", onAnswer: () => {}, closed: false };
        const socket = await Bun.connect<ConnState>({
          hostname: host,
          port,
          data: state,
          socket: {
            data(s, chunk) {
              s.data.buffer += chunk.toString("latin1");
              parseAnswers(s.data);
            },
            close(s) {
              if (!s.data.closed) dropped++;
              s.data.closed = true;
            },
            error() {},
          },
        });
        return { socket, state };
      }),
    );
    sockets.push(...batchSockets);
  }
  return { sockets, dropped: () => dropped, close: () => sockets.forEach((c) => ((c.state.closed = true), c.socket.end())) };
}

/** Consumes complete responses (Content-Length framed) from the buffer, in order. */
function parseAnswers(state: ConnState): void {
  for (;;) {
    const headerEnd = state.buffer.indexOf("\r\n\r\n");
    if (headerEnd < 0) return;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(state.buffer.slice(0, headerEnd))?.[1] ?? "0");
    const end = headerEnd + 4 + length;
    if (state.buffer.length < end) return;
    const status = Number(state.buffer.slice(9, 12));
    state.buffer = state.buffer.slice(end);
    const scheduledAt = state.scheduled.shift();
    if (scheduledAt !== undefined) state.onAnswer(status, performance.now() - scheduledAt);
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

/** Sends `request` at an aggregate `rate` over the pool for `seconds`, then waits up to 2 s for stragglers. */
export async function runOpenLoop(pool: Pool, request: string, rate: number, seconds: number): Promise<RunResult> {
  const conns = pool.sockets.filter((c) => !c.state.closed);
  const periodMs = (conns.length / rate) * 1000;
  const droppedBefore = pool.dropped();
  const latencies: number[] = [];
  const lags: number[] = [];
  let non2xx = 0;
  let sent = 0;
  for (const c of conns) {
    c.state.scheduled = [];
    c.state.buffer = "";
    c.state.onAnswer = (status, latency) => {
      latencies.push(latency);
      if (status < 200 || status > 299) non2xx++;
    };
  }
  const start = performance.now() + 50;
  // Each connection's next send time; phases spread evenly at random over one period.
  const next = conns.map(() => start + Math.random() * periodMs);
  const end = start + seconds * 1000;
  const bytes = Buffer.from(request);
  while (performance.now() < end) {
    const now = performance.now();
    for (let i = 0; i < conns.length; i++) {
      const due = next[i] ?? end;
      if (due > now || due >= end) continue;
      const c = conns[i];
      if (c === undefined || c.state.closed) continue;
      c.state.scheduled.push(due);
      c.socket.write(bytes);
      lags.push(now - due);
      sent++;
      next[i] = due + periodMs;
    }
    await Bun.sleep(1);
  }
  const drainUntil = performance.now() + 2_000;
  while (latencies.length < sent && performance.now() < drainUntil) await Bun.sleep(10);
  const answered = latencies.length;
  // A request never answered counts as infinitely slow, so it cannot flatter the percentiles.
  for (let i = answered; i < sent; i++) latencies.push(Number.POSITIVE_INFINITY);
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  return {
    rate,
    sent,
    answered,
    non2xx,
    dropped: pool.dropped() - droppedBefore,
    unanswered: sent - answered,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    max: latencies[answered - 1] ?? 0,
    sendLagP99: percentile(lags, 0.99),
  };
}
