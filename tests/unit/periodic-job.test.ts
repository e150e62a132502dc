import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startPeriodicJob } from "../../src/jobs/periodic.ts";
import { createLogger } from "../../src/observability/logger.ts";

const logged: Array<{ msg: string; job?: string }> = [];
const logger = createLogger({ level: "error", destination: { write: (line: string) => void logged.push(JSON.parse(line)) } });

beforeEach(() => {
  vi.useFakeTimers();
  logged.length = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe("periodic jobs", () => {
  it("run at once and then every interval; with firstRunAfterInterval, first after one interval", async () => {
    const runs = { now: 0, later: 0 };
    const stops = [
      startPeriodicJob("now", async () => void runs.now++, 60, logger),
      startPeriodicJob("later", async () => void runs.later++, 60, logger, { firstRunAfterInterval: true }),
    ];
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual({ now: 1, later: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual({ now: 2, later: 1 });
    for (const stop of stops) stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(runs).toEqual({ now: 2, later: 1 });
  });

  it("never runs two at once, and logs a failure instead of throwing it", async () => {
    let running = 0;
    let most = 0;
    let release = () => {};
    const stop = startPeriodicJob(
      "slow",
      async () => {
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => (release = resolve));
        running--;
        throw new Error("slow job failed");
      },
      1,
      logger,
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(most).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(logged).toEqual([expect.objectContaining({ job: "slow", msg: "slow failed; will retry" })]);
    stop();
  });
});
