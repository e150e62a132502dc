/** A counter after a hit: how many hits (or units of weight) this window has seen, and when the window ends (epoch ms). */
export type WindowCount = { count: number; resetAt: number };

/**
 * One step of `hitInOrder`: a hit of one (as `hit`), or with `peek` only a read (as `peek`), and the limit that
 * decides whether the steps after it run: a hit past `max`, or a peek at `max` or more, ends the sequence.
 */
export type OrderedStep = { key: string; windowMs: number; max: number; peek?: boolean };

/**
 * What each step of `hitInOrder` saw, in order, up to and including the first past its limit; the steps after it
 * were neither counted nor read. A peek of a key with no live window sees `{ count: 0, resetAt: null }`.
 */
export type OrderedCounts = Array<{ count: number; resetAt: number | null }>;

/** Whether a step's count ends the sequence. */
export const pastLimit = (step: OrderedStep, count: number) => (step.peek === true ? count >= step.max : count > step.max);

/**
 * Fixed-window counters. `hit` must be atomic (one INCR / one upsert): of N concurrent hits each sees a distinct
 * count, so "exactly max get through" holds under any concurrency.
 */
export type RateLimitStore = {
  /** Adds `weight` (1 for a request; a GraphQL operation's cost for a cost budget) to the window's count. */
  hit(key: string, windowMs: number, weight?: number): Promise<WindowCount>;
  /** The current count without counting; 0 when the window is over. */
  peek(key: string): Promise<number>;
  /**
   * Several hits and peeks in order, in one round trip (a login counts the address, reads its stuffing count and
   * counts the account): each step runs only while every step before it is within its limit, so an attempt
   * refused by one rule is counted by none after it. Each hit is as atomic as `hit`.
   */
  hitInOrder(steps: readonly OrderedStep[]): Promise<OrderedCounts>;
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
  const hit = (key: string, windowMs: number, weight = 1): WindowCount => {
    const at = now();
    sweep(at);
    const current = windows.get(key);
    const next = current === undefined || current.resetAt <= at ? { count: weight, resetAt: at + windowMs } : { ...current, count: current.count + weight };
    windows.set(key, next);
    return next;
  };
  const live = (key: string): WindowCount | undefined => {
    const current = windows.get(key);
    return current !== undefined && current.resetAt > now() ? current : undefined;
  };
  return {
    hit: async (key, windowMs, weight) => hit(key, windowMs, weight),
    peek: async (key) => live(key)?.count ?? 0,
    async hitInOrder(steps) {
      const counts: OrderedCounts = [];
      for (const step of steps) {
        const seen = step.peek === true ? (live(step.key) ?? { count: 0, resetAt: null }) : hit(step.key, step.windowMs);
        counts.push(seen);
        if (pastLimit(step, seen.count)) break;
      }
      return counts;
    },
    async decrement(key) {
      const current = live(key);
      if (current !== undefined && current.count > 0) windows.set(key, { ...current, count: current.count - 1 });
    },
    async reset(key) {
      windows.delete(key);
    },
    close: async () => {},
  };
}
