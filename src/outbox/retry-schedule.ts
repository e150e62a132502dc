/** Milliseconds until the next try after `failedAttempts` failed ones; null: give up. */
export type RetrySchedule = (failedAttempts: number) => number | null;

/** A delay spread over ±`spread` of itself (25% by default), so deliveries that failed together are not retried together. */
export function withJitter(delayMs: number, random: () => number = Math.random, spread = 0.25): number {
  return Math.round(delayMs * (1 - spread + random() * 2 * spread));
}

/** first, 2x first, 4x first, ... capped at `maxDelayMs`, jittered, for `attempts` tries in all. */
export function exponentialBackoff(options: { attempts: number; firstDelayMs: number; maxDelayMs: number; random?: () => number }): RetrySchedule {
  return (failed) => (failed >= options.attempts ? null : withJitter(Math.min(options.firstDelayMs * 2 ** (failed - 1), options.maxDelayMs), options.random));
}

/** A fixed list of delays (the webhook schedule), jittered by ±10% so it stays the schedule; after the last one, give up. */
export function fixedSchedule(delaysMs: readonly number[], random?: () => number): RetrySchedule {
  return (failed) => {
    const delay = delaysMs[failed - 1];
    return delay === undefined ? null : withJitter(delay, random, 0.1);
  };
}
