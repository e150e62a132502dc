import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type HttpResponse, readResponse } from "../support/http-connection.ts";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * Requests that break at the HTTP level, as a fuzzing probe sent them: a body shorter than its Content-Length, a
 * malformed chunked body, headers too large, a declared 1 GB body. Each is the client's error: answered as one,
 * in our format wherever the runtime lets the app answer, logged at info and never counted as a server error or
 * an outage. REQUEST_DEADLINE_MS is short so the slow client's wait is short too.
 */
const DEADLINE_MS = 1_000;
const LOGIN_HEAD = "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";

/** Writes the parts on a fresh connection; the response, and whether the server closed the connection after it. */
function exchange(port: number, parts: string[]): Promise<{ response: HttpResponse; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      const closed = new Promise<void>((done) => socket.once("close", () => done()));
      readResponse(socket).then((response) => resolve({ response, closed }), reject);
      for (const part of parts) socket.write(part);
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
    socket.once("error", reject);
  });
}

/**
 * Declares the largest body a client can, then keeps sending it for as long as the connection takes it (at most
 * `giveUpMs`). Whether the server (not this client giving up) ended the connection. The 413 itself is not read: a
 * server that closes while body bytes are still arriving resets the connection, which may discard it unread.
 */
function floodPastTheLimit(port: number, giveUpMs: number): Promise<{ closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      let gaveUp = false;
      const giveUp = setTimeout(() => {
        gaveUp = true;
        socket.destroy();
      }, giveUpMs);
      socket.once("close", () => {
        clearTimeout(giveUp);
        resolve({ closedByServer: !gaveUp });
      });
      socket.resume();
      const chunk = Buffer.alloc(64 * 1024, "a");
      const sendMore = () => {
        while (!socket.destroyed && socket.write(chunk));
      };
      socket.on("drain", sendMore);
      socket.write(`${LOGIN_HEAD}Content-Length: ${Number.MAX_SAFE_INTEGER}\r\n\r\n`);
      sendMore();
    });
    socket.once("error", reject);
  });
}

type LogLine = { level: number; msg: string; requestId?: string; status?: number; code?: string };
const logLines = (server: SpawnedServer): LogLine[] =>
  server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);

async function loginCounts(server: SpawnedServer): Promise<Record<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^servauth_http_requests_total\{([^}]*)\} (\d+)$/gm)) {
    const labels = match[1] ?? "";
    if (!labels.includes('route="/auth/login"')) continue;
    const status = /status="(\d+)"/.exec(labels)?.[1] ?? "?";
    counts[status] = (counts[status] ?? 0) + Number(match[2]);
  }
  return counts;
}

function expectOurFormat(response: HttpResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers["content-type"]).toBe("application/problem+json");
  expect(response.headers["x-content-type-options"]).toBe("nosniff");
  expect(response.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  expect(JSON.parse(response.body)).toMatchObject({ status, code, requestId: response.headers["x-request-id"] });
}

describe.each<Runtime>(e2eRuntimes())("broken requests on %s", (runtime) => {
  let server: SpawnedServer | undefined;
  const running = () => {
    if (server === undefined) throw new Error("the server did not start");
    return server;
  };
  beforeAll(async () => {
    server = await spawnServer({ runtime, env: { REQUEST_DEADLINE_MS: String(DEADLINE_MS), LOG_LEVEL: "info" } });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  test("a body shorter than its Content-Length is a slow client: 408 REQUEST_TIMEOUT, at info, no outage", async () => {
    const before = await loginCounts(running());
    const { response, closed } = await exchange(running().port, [`${LOGIN_HEAD}Content-Length: 100\r\n\r\n`, '{"email":']);
    expectOurFormat(response, 408, "REQUEST_TIMEOUT");
    // The rest of the body may still come: the connection cannot carry another request.
    await closed;
    // The log line travels through the server's stdout pipe, which a busy machine delivers after the answer.
    const lines = () => logLines(running()).filter((line) => line.requestId === response.headers["x-request-id"]);
    await expect.poll(lines).toEqual([expect.objectContaining({ level: 30, msg: "request", status: 408 })]);
    // Counted from before this request: a retry of this test meets the server its first attempt used.
    const counts = await loginCounts(running());
    expect((counts["408"] ?? 0) - (before["408"] ?? 0)).toBe(1);
    expect(counts["503"]).toBeUndefined();
  }, 30_000);

  test("a malformed chunked body is the client's error: 400, no unhandled error, no 500 counted", async () => {
    const { response } = await exchange(running().port, [`${LOGIN_HEAD}Transfer-Encoding: chunked\r\n\r\n`, "zz\r\nabc\r\n0\r\n\r\n"]);
    expect(response.status).toBe(400);
    // Bun answers this itself, before and without the app (see the report); Node lets us answer.
    if (runtime === "node") expectOurFormat(response, 400, "MALFORMED_REQUEST");
    await expect.poll(() => logLines(running()).some((line) => line.status === 400 || line.code === "MALFORMED_REQUEST")).toBe(true);
    expect(logLines(running()).filter((line) => line.level >= 50)).toEqual([]);
    expect((await loginCounts(running()))["500"]).toBeUndefined();
  }, 30_000);

  test("a declared 1 GB body is refused with 413 in our format before a byte of it is read, and its connection ends", async () => {
    const { response, closed } = await exchange(running().port, [`${LOGIN_HEAD}Content-Length: 1073741824\r\n\r\n`, "{"]);
    expectOurFormat(response, 413, "PAYLOAD_TOO_LARGE");
    expect(response.headers.connection).toBe("close");
    await closed;
  }, 30_000);

  test("a body past the limit that keeps coming ends its connection after the 413: one client cannot hold it open", async () => {
    const { closedByServer } = await floodPastTheLimit(running().port, 10_000);
    expect(closedByServer).toBe(true);
  }, 30_000);

  test("headers too large: 431, in our format where the runtime lets the app answer", async () => {
    const { response } = await exchange(running().port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`]);
    expect(response.status).toBe(431);
    if (runtime === "node") expectOurFormat(response, 431, "HEADERS_TOO_LARGE");
    expect(logLines(running()).filter((line) => line.level >= 50)).toEqual([]);
  }, 30_000);

  test("an unsupported HTTP version is refused without a server error", async () => {
    const { response } = await exchange(running().port, ["GET /health HTTP/2.5\r\nHost: 127.0.0.1\r\n\r\n"]);
    // Bun answers a bare 505 itself; Node's parser reports it as a malformed request, which we answer.
    if (runtime === "bun") expect(response.status).toBe(505);
    else expectOurFormat(response, 400, "MALFORMED_REQUEST");
    expect(logLines(running()).filter((line) => line.level >= 50)).toEqual([]);
  }, 30_000);
});
