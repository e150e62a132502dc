import { connect, type Socket } from "node:net";
import { describe, expect, test } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * The server's lifecycle as an orchestrator sees it: the start-up line, and a SIGTERM that lets a request already
 * in flight finish before the process exits 0.
 */

const PASSWORD = "correct horse battery staple";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with the next complete HTTP/1.1 response on the socket (Content-Length framed). */
function readResponse(socket: Socket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headerEnd = received.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const head = received.subarray(0, headerEnd).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
      if (received.length < headerEnd + 4 + length) return;
      socket.off("data", onData);
      resolve({
        status: Number(head.split(" ")[1]),
        body: received.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8"),
      });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`connection closed after ${received.length} bytes`)));
  });
}

/** Whether a new connection to the port is refused: the server has stopped listening. */
async function refusesConnections(port: number): Promise<boolean> {
  try {
    (await openSocket(port)).destroy();
    return false;
  } catch {
    return true;
  }
}

function startupLine(server: SpawnedServer): string {
  const messages = server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? "");
  return messages.find((message) => message.includes("listening on")) ?? "";
}

describe.each<Runtime>(e2eRuntimes())("the server on %s", (runtime) => {
  test("prints one start-up line with URL, runtime, database, version and the API reference's URL; a SIGTERM lets the request in flight finish, then exits 0", async () => {
    const server = await spawnServer({ runtime, env: { LOG_LEVEL: "info" } });
    try {
      const line = startupLine(server);
      expect(line).toContain(`servauth ${packageJson.version}`);
      expect(line).toContain(`listening on ${server.url}`);
      expect(line).toMatch(new RegExp(`\\(${runtime} \\d+\\.\\d+\\.\\d+, `));
      expect(line).toContain(`embedded (${server.dataDir}`);
      expect(line).toContain(`API reference at ${server.url}/docs`);

      const email = `shutdown-${runtime}-${Date.now().toString(36)}@example.com`;
      const registered = await fetch(`${server.url}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      expect(registered.status).toBe(201);

      // One answered request first, so the connection is certainly accepted by the server, not queued in the kernel.
      const socket = await openSocket(server.port);
      socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect((await readResponse(socket)).status).toBe(200);

      // A login whose body is only half sent: the server has begun it and waits for the rest.
      const body = Buffer.from(JSON.stringify({ email, password: PASSWORD }));
      const half = Math.floor(body.length / 2);
      socket.write(
        `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(body.subarray(0, half));
      const answer = readResponse(socket);
      await sleep(300);

      const exited = server.stop("SIGTERM");
      // Shutdown has begun once the listener is gone; only then does the rest of the request arrive.
      let refused = false;
      for (const started = Date.now(); !refused && Date.now() - started < 5_000; await sleep(20)) {
        refused = await refusesConnections(server.port);
      }
      expect(refused, server.output()).toBe(true);
      socket.write(body.subarray(half));

      const response = await answer;
      expect(response.status, response.body).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ tokenType: "Bearer", user: { email } });
      expect(await exited, server.output()).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
