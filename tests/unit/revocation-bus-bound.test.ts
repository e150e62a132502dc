import { afterEach, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { type BusTransport, createBroadcastBus, type RevocationEvent } from "../../src/sessions/revocation-bus.ts";

/**
 * A request that revokes waits for the broadcast only so long: a transport whose sends never settle (a wedged
 * connection) must not hold logouts and logins until their deadline. The event still applies locally at once.
 * Timers are faked, so the bound is checked on the bus's own clock, not on a loaded machine's.
 */
afterEach(() => {
  vi.useRealTimers();
});

it("returns from publish within two heartbeats when the transport never answers, having applied the event locally", async () => {
  const heartbeatMs = 50;
  let answering = true;
  const transport: BusTransport = {
    send: () => (answering ? Promise.resolve() : new Promise<void>(() => {})),
    start: async () => {},
    close: async () => {},
  };
  const bus = await createBroadcastBus(transport, { heartbeatMs, logger: createLogger({ level: "silent" }) });
  const seen: RevocationEvent[] = [];
  bus.subscribe((event) => seen.push(event));
  try {
    answering = false;
    vi.useFakeTimers();
    let returned = false;
    const publishing = bus.publish({ kind: "session", sessionId: "s-1" }).then(() => {
      returned = true;
    });
    expect(seen).toEqual([{ kind: "session", sessionId: "s-1" }]);
    await vi.advanceTimersByTimeAsync(heartbeatMs * 2);
    expect(returned).toBe(true);
    await publishing;
  } finally {
    await bus.close();
  }
});
