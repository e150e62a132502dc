import { afterEach, vi } from "vitest";

/**
 * Lets a test move time forward instead of sleeping through an expiry. Only `Date` is replaced (timers stay real,
 * and the clock keeps running on its own), so everything that reads the time moves together: our services, jose,
 * Better-Auth, and PGlite, whose now() asks the same Date. PostgreSQL's now() does not move: a test whose expiry
 * is decided by the database server (the postgres rate-limit store) still waits.
 *
 * @example
 * const clock = useMovableClock();
 * it("expires", async () => { ...; clock.advance(1_100); ... });
 */
export function useMovableClock(): { advance(ms: number): void } {
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    advance(ms) {
      if (!vi.isFakeTimers()) vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
      vi.setSystemTime(Date.now() + ms);
    },
  };
}
