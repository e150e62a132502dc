import { connect, createServer, type Socket } from "node:net";
import { freePort } from "./spawn-server.ts";

/**
 * A TCP forwarder in the test process, standing between one server and a dependency (Redis, PostgreSQL), so a test
 * can cut that one server's link while everything else stays up: a network partition on demand.
 */
export type TcpProxy = {
  port: number;
  /** Drops every forwarded connection; new ones are accepted and dropped at once until heal(). */
  cut(): void;
  heal(): void;
  /**
   * Drops every forwarded connection and stops listening, so new ones are refused, as while a server restarts;
   * up() listens again on the same port.
   */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
};

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let severed = false;
  const server = createServer((client) => {
    if (severed) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on("error", drop);
      socket.on("close", drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await freePort();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen();
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    cut() {
      severed = true;
      dropAll();
    },
    heal() {
      severed = false;
    },
    async down() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
    },
    up: listen,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
