import postgres from "postgres";
import { reconnectDelaySeconds } from "../db/client.ts";
import type { BusTransport } from "./revocation-bus.ts";

const CHANNEL = "servauth_revocations";

/** LISTEN/NOTIFY on a connection of its own (postgres.js re-listens by itself after a reconnect). */
export function createPostgresTransport(url: string, { connectTimeoutMs }: { connectTimeoutMs: number }): BusTransport {
  const client = postgres(url, {
    max: 1,
    connect_timeout: connectTimeoutMs / 1000,
    // postgres.js's default backoff grows with every failed attempt up to 20 s: after an outage, with pings and
    // publishes failing all along, the next attempt could be many seconds after PostgreSQL is back, and every
    // publish (a logout, a login evicting a session) would wait for it. A refused connection costs nothing to retry.
    backoff: reconnectDelaySeconds,
    onnotice: () => {},
  });
  return {
    async send(message) {
      await client`select pg_notify(${CHANNEL}, ${message})`;
    },
    async start(onMessage, onResubscribed) {
      let listening = false;
      // postgres.js calls onlisten after every (re)connect of its listening connection.
      await client.listen(CHANNEL, onMessage, () => {
        if (listening) onResubscribed();
        listening = true;
      });
    },
    async close() {
      await client.end({ timeout: 2 });
    },
  };
}
