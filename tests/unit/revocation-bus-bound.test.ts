import { expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { type BusTransport, createBroadcastBus, type RevocationEvent } from "../../src/sessions/revocation-bus.ts";

/**
 * A request that revokes waits for the broadcast only so long: a transport whose sends never settle (a wedged
 * connection) must not hold logouts and logins until their deadline. The event still applies locally at once.
 */
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
    const started = performance.now();
    await bus.publish({ kind: "session", sessionId: "s-1" });
    expect(performance.now() - started).toBeLessThan(heartbeatMs * 2 + 50);
    expect(seen).toEqual([{ kind: "session", sessionId: "s-1" }]);
  } finally {
    await bus.close();
  }
});
