import { describe, expect, it } from "vitest";
import { createDeadlines, type DeadlineTimers } from "../../src/deadlines.ts";

/** A clock the test moves; the armed timers fire when it passes them, in order. */
function manualTimers() {
  let now = 0;
  let pending: Array<{ at: number; callback: () => void }> = [];
  const timers: DeadlineTimers = {
    now: () => now,
    setTimeout: (callback, ms) => pending.push({ at: now + ms, callback }),
  };
  return {
    timers,
    armed: () => pending.length,
    /** Moves the clock to `to`, firing each timer due on the way at its own time. */
    async advanceTo(to: number) {
      // A real timer never fires before the callbacks already queued have run.
      await flush();
      for (;;) {
        const due = pending.filter((timer) => timer.at <= to).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        pending = pending.filter((timer) => timer !== due);
        now = due.at;
        due.callback();
        await flush();
      }
      now = to;
      await flush();
    },
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const never = () => new Promise<never>(() => {});
const expired = (label: string) => () => new Error(`${label} expired`);

/** A wait whose outcome the test reads at any point without waiting for it. */
function watched(promise: Promise<unknown>) {
  const watch = { state: "pending" };
  promise.then(
    (value) => (watch.state = `resolved ${String(value)}`),
    (error: Error) => (watch.state = `rejected ${error.message}`),
  );
  return watch;
}

describe("createDeadlines", () => {
  it("passes on what settles in time and expires nothing afterwards", async () => {
    const clock = manualTimers();
    const deadlines = createDeadlines(100, clock.timers);
    const answered = watched(deadlines.within(Promise.resolve("answer"), expired("answered")));
    const failed = watched(deadlines.within(Promise.reject(new Error("database error")), expired("failed")));
    await clock.advanceTo(500);
    expect(answered.state).toBe("resolved answer");
    expect(failed.state).toBe("rejected database error");
  });

  it("rejects a wait that never settles at its deadline, not before", async () => {
    const clock = manualTimers();
    const deadlines = createDeadlines(100, clock.timers);
    const hung = watched(deadlines.within(never(), expired("hung")));
    await clock.advanceTo(99);
    expect(hung.state).toBe("pending");
    await clock.advanceTo(100);
    expect(hung.state).toBe("rejected hung expired");
  });

  it("gives each wait its own deadline from when it began, with one timer armed at a time", async () => {
    const clock = manualTimers();
    const deadlines = createDeadlines(100, clock.timers);
    const first = watched(deadlines.within(never(), expired("first")));
    await clock.advanceTo(30);
    let answer!: (value: string) => void;
    const answeredLater = watched(deadlines.within(new Promise<string>((resolve) => (answer = resolve)), expired("answered")));
    await clock.advanceTo(60);
    const third = watched(deadlines.within(never(), expired("third")));
    expect(clock.armed()).toBe(1);
    await clock.advanceTo(100);
    expect(first.state).toBe("rejected first expired");
    expect(answeredLater.state).toBe("pending");
    answer("in time");
    await clock.advanceTo(159);
    expect(answeredLater.state).toBe("resolved in time");
    expect(third.state).toBe("pending");
    await clock.advanceTo(160);
    expect(third.state).toBe("rejected third expired");
    expect(clock.armed()).toBe(0);
  });

  it("keeps working after a wait that expired settles late, and for waits that begin after all others ended", async () => {
    const clock = manualTimers();
    const deadlines = createDeadlines(100, clock.timers);
    let answer!: (value: string) => void;
    const late = watched(deadlines.within(new Promise<string>((resolve) => (answer = resolve)), expired("late")));
    await clock.advanceTo(100);
    expect(late.state).toBe("rejected late expired");
    answer("too late");
    await flush();
    const next = watched(deadlines.within(never(), expired("next")));
    const quick = watched(deadlines.within(Promise.resolve("quick"), expired("quick")));
    await clock.advanceTo(199);
    expect(quick.state).toBe("resolved quick");
    expect(next.state).toBe("pending");
    await clock.advanceTo(200);
    expect(next.state).toBe("rejected next expired");
  });
});
