/** A counter after a hit: how many hits this window has seen, and when the window ends (epoch ms). */
export type WindowCount = { count: number; resetAt: number };

/**
 * Fixed-window counters. `hit` must be atomic (one INCR / one upsert): of N concurrent hits each sees a distinct
 * count, so "exactly max get through" holds under any concurrency.
 */
export type RateLimitStore = {
  hit(key: string, windowMs: number): Promise<WindowCount>;
  /** The current count without counting; 0 when the window is over. */
  peek(key: string): Promise<number>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
};

/** One process: a Map, swept of finished windows as it is used. */
export function createMemoryRateLimitStore(now: () => number = Date.now): RateLimitStore {
  const windows = new Map<string, WindowCount>();
  let nextSweepAt = 0;
  const sweep = (at: number) => {
    if (at < nextSweepAt) return;
    nextSweepAt = at + 60_000;
    for (const [key, window] of windows) if (window.resetAt <= at) windows.delete(key);
  };
  return {
    async hit(key, windowMs) {
      const at = now();
      sweep(at);
      const current = windows.get(key);
      const next = current === undefined || current.resetAt <= at ? { count: 1, resetAt: at + windowMs } : { ...current, count: current.count + 1 };
      windows.set(key, next);
      return next;
    },
    async peek(key) {
      const current = windows.get(key);
      return current === undefined || current.resetAt <= now() ? 0 : current.count;
    },
    async reset(key) {
      windows.delete(key);
    },
    close: async () => {},
  };
}
