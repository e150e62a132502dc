/** A counter after a hit: how many hits (or units of weight) this window has seen, and when the window ends (epoch ms). */
export type WindowCount = { count: number; resetAt: number };

/**
 * Fixed-window counters. `hit` must be atomic (one INCR / one upsert): of N concurrent hits each sees a distinct
 * count, so "exactly max get through" holds under any concurrency.
 */
export type RateLimitStore = {
  /** Adds `weight` (1 for a request; a GraphQL operation's cost for a cost budget) to the window's count. */
  hit(key: string, windowMs: number, weight?: number): Promise<WindowCount>;
  /** The current count without counting; 0 when the window is over. */
  peek(key: string): Promise<number>;
  /** Takes one hit back (a hit counted before a check that turned out not to count); never below 0, never reopens a window. */
  decrement(key: string): Promise<void>;
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
    async hit(key, windowMs, weight = 1) {
      const at = now();
      sweep(at);
      const current = windows.get(key);
      const next = current === undefined || current.resetAt <= at ? { count: weight, resetAt: at + windowMs } : { ...current, count: current.count + weight };
      windows.set(key, next);
      return next;
    },
    async peek(key) {
      const current = windows.get(key);
      return current === undefined || current.resetAt <= now() ? 0 : current.count;
    },
    async decrement(key) {
      const current = windows.get(key);
      if (current !== undefined && current.resetAt > now() && current.count > 0) windows.set(key, { ...current, count: current.count - 1 });
    },
    async reset(key) {
      windows.delete(key);
    },
    close: async () => {},
  };
}
