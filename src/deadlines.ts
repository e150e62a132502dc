/** What Deadlines reads the time from and arms its one timer with; tests pass a clock they move themselves. */
export type DeadlineTimers = {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
};

const SYSTEM_TIMERS: DeadlineTimers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // Only a wait in flight matters, and its owner (a server's socket) keeps the process alive: the timer left
    // armed after the last wait must not keep an in-process app or a CLI from exiting.
    timer.unref?.();
    return timer;
  },
};

/** A wait in flight, in a list ordered by start, which for one length of deadline is also the order of expiry. */
type Wait = { expiresAt: number; expire: () => void; done: boolean; older: Wait | null; newer: Wait | null };

/**
 * Bounds many waits of the same length (every request's, REQUEST_DEADLINE_MS) with one timer instead of one each:
 * a setTimeout and its clearTimeout were the dearest part of an answer from memory, which never needs them. The
 * waits sit in a list in the order they began, so the oldest expires first; the timer is armed for it, and when it
 * fires it expires every wait that is due and is armed again for the oldest left. A wait that settles leaves the
 * list at once.
 */
export function createDeadlines(ms: number, timers: DeadlineTimers = SYSTEM_TIMERS) {
  let oldest: Wait | null = null;
  let newest: Wait | null = null;
  let armed = false;

  function leave(wait: Wait) {
    if (wait.done) return;
    wait.done = true;
    if (wait.older === null) oldest = wait.newer;
    else wait.older.newer = wait.newer;
    if (wait.newer === null) newest = wait.older;
    else wait.newer.older = wait.older;
  }

  function arm() {
    if (armed || oldest === null) return;
    armed = true;
    timers.setTimeout(fire, Math.max(oldest.expiresAt - timers.now(), 0));
  }

  function fire() {
    armed = false;
    const now = timers.now();
    while (oldest !== null && oldest.expiresAt <= now) {
      const due = oldest;
      leave(due);
      due.expire();
    }
    arm();
  }

  return {
    /** The promise's outcome, or a rejection with `onExpiry()` once `ms` have passed without one. It runs on regardless. */
    within<T>(promise: Promise<T>, onExpiry: () => Error): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const wait: Wait = { expiresAt: timers.now() + ms, expire: () => reject(onExpiry()), done: false, older: newest, newer: null };
        if (newest === null) oldest = wait;
        else newest.newer = wait;
        newest = wait;
        arm();
        promise.then(
          (value) => {
            leave(wait);
            resolve(value);
          },
          (error: unknown) => {
            leave(wait);
            reject(error);
          },
        );
      });
    },
  };
}

export type Deadlines = ReturnType<typeof createDeadlines>;
