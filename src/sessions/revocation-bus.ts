import { randomUUID } from "node:crypto";
import type { Logger } from "../observability/logger.ts";
import { withinTime } from "../within-time.ts";

/**
/**
 * What a cache must forget: one session, one API key, or everything about one user (all their sessions and keys,
 * their profile). `reset` is local only: the bus was down, events may have been missed, so every cached entry is
 * suspect. `outbox` rides along for the delivery workers: a mail or webhook was written, come and deliver it (caches
 * ignore it; a lost one costs a poll interval, not a delivery).
 */
export type RevocationEvent =
  | { kind: "session"; sessionId: string }
  | { kind: "apiKey"; apiKeyId: string }
  | { kind: "user"; userId: string }
  | { kind: "outbox" }
  | { kind: "reset" };

export type RevocationBus = {
  /** Applies the event locally at once, then tells every other instance. */
  publish(event: Exclude<RevocationEvent, { kind: "reset" }>): Promise<void>;
  subscribe(handler: (event: RevocationEvent) => void): void;
  /** False while events from other instances may be going missing: caches must not be trusted then. */
  isConnected(): boolean;
  close(): Promise<void>;
};

/** One process, nothing to broadcast to. */
export function createInProcessBus(): RevocationBus {
  const handlers: Array<(event: RevocationEvent) => void> = [];
  return {
    async publish(event) {
      for (const handler of handlers) handler(event);
    },
    subscribe: (handler) => void handlers.push(handler),
    isConnected: () => true,
    close: async () => {},
  };
}

/** A broadcast channel between instances (PostgreSQL LISTEN/NOTIFY, Redis pub/sub). */
export type BusTransport = {
  send(message: string): Promise<void>;
  /** `onResubscribed` fires after the transport reconnected by itself: messages may have been lost meanwhile. */
  start(onMessage: (message: string) => void, onResubscribed: () => void): Promise<void>;
  close(): Promise<void>;
};

/** Bound on events kept for resending; beyond it the oldest go (their sessions' cache entries age out in minutes). */
const MAX_UNSENT = 10_000;

export type BroadcastBusOptions = { heartbeatMs: number; logger: Logger };

/**
 * A bus over a transport, with its health proven rather than assumed: every heartbeat the instance sends itself
 * a ping through the transport, and the bus counts as connected only while its own pings come back. A dropped
 * or silently dead connection therefore shows within two heartbeats, whatever the transport reports. When pings
 * resume, or the transport says it re-subscribed (a reconnect quicker than a heartbeat), a `reset` tells caches
 * to drop whatever they hold, since events sent meanwhile may be lost.
 */
export async function createBroadcastBus(transport: BusTransport, options: BroadcastBusOptions): Promise<RevocationBus> {
  const instanceId = randomUUID();
  const handlers: Array<(event: RevocationEvent) => void> = [];
  const deliver = (event: RevocationEvent) => {
    for (const handler of handlers) handler(event);
  };
  let lastPongAt = 0;
  let connected = false;

  const isConnected = () => connected && Date.now() - lastPongAt <= options.heartbeatMs * 2;

  const onResubscribed = () => {
    options.logger.warn("revocation bus reconnected; dropping cached sessions");
    deliver({ kind: "reset" });
  };
  await transport.start((message) => {
    const parsed = parseMessage(message);
    if (parsed === null) return;
    if ("ping" in parsed) {
      if (parsed.ping !== instanceId) return;
      if (!isConnected()) {
        if (lastPongAt !== 0) options.logger.warn("revocation bus back; dropping cached sessions");
        deliver({ kind: "reset" });
      }
      lastPongAt = Date.now();
      connected = true;
      return;
    }
    if (parsed.from !== instanceId) deliver(parsed.event);
  }, onResubscribed);

  // Events this instance could not broadcast (its own link was down). Other instances cannot notice that, since
  // their pings still return, so the events are sent again as soon as the link works: the other caches are stale
  // for the length of the outage, never longer.
  const unsent: string[] = [];
  const resendUnsent = async () => {
    while (unsent.length > 0) {
      await transport.send(unsent[0] as string);
      unsent.shift();
    }
  };

  // A request that revokes (logout, a login evicting a session) waits for the broadcast: never longer than this.
  // A send still pending then may yet arrive; the copy queued for resending makes it twice, which is harmless.
  const sendBoundMs = options.heartbeatMs * 2;

  let wasConnected = true;
  const ping = async () => {
    if (wasConnected && !isConnected() && lastPongAt !== 0) options.logger.warn("revocation bus silent; validating against the database");
    wasConnected = isConnected();
    try {
      await transport.send(JSON.stringify({ ping: instanceId }));
      await resendUnsent();
    } catch {
      // The missing pong says it; nothing to add here.
    }
  };
  await ping();
  const timer = setInterval(() => void ping(), options.heartbeatMs);
  timer.unref?.();

  return {
    async publish(event) {
      deliver(event);
      const message = JSON.stringify({ from: instanceId, event });
      try {
        await withinTime(transport.send(message), sendBoundMs, () => new Error(`no answer from the bus within ${sendBoundMs} ms`));
      } catch (error) {
        // A lost wake-up is made good by the workers' poll; resending it after the outage would wake nobody usefully.
        if (event.kind === "outbox") return;
        if (unsent.length >= MAX_UNSENT) unsent.shift();
        unsent.push(message);
        options.logger.error({ err: error, pending: unsent.length }, "revocation not broadcast yet; will resend when the bus is back");
      }
    },
    subscribe: (handler) => void handlers.push(handler),
    isConnected,
    async close() {
      clearInterval(timer);
      await transport.close();
    },
  };
}

type WireMessage = { ping: string } | { from: string; event: Exclude<RevocationEvent, { kind: "reset" }> };

function parseMessage(message: string): WireMessage | null {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    if (typeof value.ping === "string") return { ping: value.ping };
    const event = value.event as Record<string, unknown> | undefined;
    if (typeof value.from !== "string" || event === undefined) return null;
    if (event.kind === "session" && typeof event.sessionId === "string") {
      return { from: value.from, event: { kind: "session", sessionId: event.sessionId } };
    }
    if (event.kind === "apiKey" && typeof event.apiKeyId === "string") {
      return { from: value.from, event: { kind: "apiKey", apiKeyId: event.apiKeyId } };
    }
    if (event.kind === "user" && typeof event.userId === "string") {
      return { from: value.from, event: { kind: "user", userId: event.userId } };
    }
    if (event.kind === "outbox") return { from: value.from, event: { kind: "outbox" } };
    return null;
  } catch {
    return null;
  }
}
