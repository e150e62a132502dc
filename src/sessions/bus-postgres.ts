import postgres from "postgres";
import type { BusTransport } from "./revocation-bus.ts";

const CHANNEL = "servauth_revocations";

/** LISTEN/NOTIFY on a connection of its own (postgres.js re-listens by itself after a reconnect). */
export function createPostgresTransport(url: string): BusTransport {
  const client = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
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
