import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openConnection } from "../support/http-connection.ts";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * Slowloris: clients that open a connection and send their request slowly, or not at all, to hold the server's
 * connections. HTTP_HEADERS_TIMEOUT / HTTP_REQUEST_TIMEOUT are set small here; the server must drop such clients
 * and keep serving everyone else meanwhile.
 */

const HEADERS_TIMEOUT_S = 1;
const REQUEST_TIMEOUT_S = 2;
/**
 * Node ends these at HTTP_HEADERS_TIMEOUT (checked every second). Bun (uWebSockets) has no header deadline of its
 * own to set: it ends a new connection that has not completed its first request after a fixed 10 s, whatever the
 * settings and however the client trickles (a trickle of header bytes does not restart that timer; measured: 12 s,
 * its timers tick in 4 s steps), so the limit allows for that.
 */
const DISCONNECT_LIMIT_MS: Record<Runtime, number> = { node: 4_000, bun: 16_000 };
/**
 * The next request on a kept-alive connection: Node bounds its headers by HTTP_HEADERS_TIMEOUT again; Bun by its
 * idle timeout (HTTP_REQUEST_TIMEOUT, 4 s ticks; measured: 4 s), which trickled bytes do not restart either.
 */
const NEXT_REQUEST_LIMIT_MS: Record<Runtime, number> = { node: 4_000, bun: (REQUEST_TIMEOUT_S + 4) * 1000 + 2_000 };
const TRICKLE_INTERVAL_MS = 250;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Held = { socket: Socket; closedAfter: Promise<number>; stop(): void };

/**
 * Opens a connection and sends the start of a request, then (with `trickle`) one more header byte now and then.
 * With `afterRequest`, a complete request is sent and answered first, so the slow one is the connection's second.
 */
function holdConnection(port: number, trickle: boolean, afterRequest = false): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, async () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      if (afterRequest) {
        const answered = new Promise((done) => socket.once("data", done));
        socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        await answered;
      }
      // Read (and drop) whatever the server answers (Node sends 408), so its closing the connection is seen.
      socket.resume();
      const opened = performance.now();
      const closedAfter = new Promise<number>((done) => socket.once("close", () => done(performance.now() - opened)));
      socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      const timer = trickle ? setInterval(() => socket.writable && socket.write("a"), TRICKLE_INTERVAL_MS) : undefined;
      void closedAfter.then(() => clearInterval(timer));
      resolve({ socket, closedAfter, stop: () => (clearInterval(timer), socket.destroy()) });
    });
    socket.once("error", reject);
  });
}

/** Resolves with the time it took, or "open" if the connection is still open after `ms`. */
async function closedWithin(held: Held, ms: number): Promise<number | "open"> {
  return Promise.race([held.closedAfter, sleep(ms).then(() => "open" as const)]);
}

/**
 * A fresh connection each time: fetch would reuse a pooled one, which the server may be closing for idleness at that
 * very moment (Bun's idle timeout here is a few seconds), and read a reset.
 */
async function healthy(server: SpawnedServer): Promise<boolean> {
  const connection = await openConnection(server.port);
  try {
    return (await connection.request("GET", "/health")).status === 200;
  } finally {
    connection.close();
  }
}

describe.each<Runtime>(e2eRuntimes())("slow clients on %s", (runtime) => {
  let server: SpawnedServer | undefined;
  const held: Held[] = [];
  const running = () => {
    if (server === undefined) throw new Error("the server did not start");
    return server;
  };

  beforeAll(async () => {
    server = await spawnServer({
      runtime,
      env: { HTTP_HEADERS_TIMEOUT: String(HEADERS_TIMEOUT_S), HTTP_REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S) },
    });
  });
  afterAll(async () => {
    for (const connection of held) connection.stop();
    await server?.stop();
  });

  test("a client that sends part of its headers and then nothing is disconnected; others are served meanwhile", async () => {
    const server = running();
    const silent = await Promise.all(Array.from({ length: 20 }, () => holdConnection(server.port, false)));
    held.push(...silent);
    expect(await healthy(server)).toBe(true);
    const times = await Promise.all(silent.map((connection) => closedWithin(connection, DISCONNECT_LIMIT_MS[runtime])));
    expect(times.filter((time) => time === "open")).toEqual([]);
    // Never before the timeout the client was given.
    expect(Math.min(...(times as number[]))).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S * 1000 - 100);
    expect(await healthy(server)).toBe(true);
  });

  // Bun has no header deadline to set: Bun.serve has no such option (idleTimeout and server.timeout() start once
  // the headers are in), and node:http on Bun accepts headersTimeout but ignores it (measured: dropped at 12 s, as
  // with Bun.serve). So on Bun HTTP_HEADERS_TIMEOUT below Bun's fixed 10 s is not honoured: KNOWN LIMITATION,
  // README and docs/deployment.md (a proxy in front sets the deadline). The day Bun honours one, this expected
  // failure starts passing and must become a plain test.
  const deadlineTest = runtime === "bun" ? test.fails : test;
  deadlineTest("a client trickling its headers a byte at a time is disconnected once HTTP_HEADERS_TIMEOUT is over", async () => {
    const server = running();
    const trickling = await holdConnection(server.port, true);
    held.push(trickling);
    const closed = await closedWithin(trickling, (HEADERS_TIMEOUT_S + 2) * 1000);
    expect(await healthy(server)).toBe(true);
    expect(closed).not.toBe("open");
  });

  test("a client trickling its headers a byte at a time is disconnected all the same (Bun: after its fixed 10 s)", async () => {
    const server = running();
    const trickling = await holdConnection(server.port, true);
    held.push(trickling);
    const closed = await closedWithin(trickling, DISCONNECT_LIMIT_MS[runtime]);
    expect(await healthy(server)).toBe(true);
    expect(closed).not.toBe("open");
  });

  test("a client trickling the headers of its second request on a kept-alive connection is disconnected", async () => {
    const server = running();
    const trickling = await holdConnection(server.port, true, true);
    held.push(trickling);
    const closed = await closedWithin(trickling, NEXT_REQUEST_LIMIT_MS[runtime]);
    expect(await healthy(server)).toBe(true);
    expect(closed).not.toBe("open");
  });
});
