import { Redis } from "ioredis";
import type { BusTransport } from "./revocation-bus.ts";

const CHANNEL = "servauth:revocations";

/** Redis pub/sub: a subscriber connection and a publisher connection (a subscribed connection cannot publish). */
export function createRedisTransport(url: string): BusTransport {
  const options = { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, enableOfflineQueue: false };
  const publisher = new Redis(url, options);
  const subscriber = new Redis(url, options);
  // ioredis reconnects on its own; errors surface through the heartbeat, not as unhandled events.
  publisher.on("error", () => {});
  subscriber.on("error", () => {});
  return {
    async send(message) {
      await publisher.publish(CHANNEL, message);
    },
    async start(onMessage, onResubscribed) {
      subscriber.on("message", (_channel: string, message: string) => onMessage(message));
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await subscriber.subscribe(CHANNEL);
      // ioredis re-subscribes by itself after a reconnect; each later "ready" is one.
      subscriber.on("ready", onResubscribed);
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
