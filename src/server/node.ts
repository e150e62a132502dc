import cluster from "node:cluster";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { ErrorCode } from "../errors.ts";
import { rawProblemResponse } from "../http/raw-problem.ts";
import type { Logger } from "../observability/logger.ts";
import { listeningUrlOf, type RuntimeAdapter } from "./runtime.ts";

/** How often Node looks for requests past their header or request deadline (its default, 30 s, would dwarf them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Node's own choice of status for what its parser refuses (lib/_http_server.js, socketOnError); 400 otherwise. */
const CLIENT_ERROR_CODES: Partial<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: "HEADERS_TOO_LARGE",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "PAYLOAD_TOO_LARGE",
  ERR_HTTP_REQUEST_TIMEOUT: "REQUEST_TIMEOUT",
};

/**
 * Answers what Node's parser refused (headers too large, a malformed request line or chunked body, a header or
 * request deadline) in our format instead of Node's bare status line. A client's broken request is no server
 * error: logged at info. Like Node's default handler, nothing is written over a response already under way.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  // Node's own check: the response to this socket's current request (if any) has not started.
  const responding = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code === "ECONNRESET" || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const code = CLIENT_ERROR_CODES[error.code ?? ""] ?? "MALFORMED_REQUEST";
  const { requestId, bytes } = rawProblemResponse(code);
  logger.info({ requestId, code, reason: error.code ?? error.message }, "request refused before it reached the app");
  socket.end(bytes);
}

export const nodeAdapter: RuntimeAdapter = {
  name: `node ${process.versions.node}`,
  readSocketAddress: (c) => getConnInfo(c).remote.address ?? null,
  // In a cluster worker, listen() asks the primary for the port's handle: sharing needs nothing here.
  listen(fetch, { host, port, timeouts, logger }) {
    return new Promise((resolve, reject) => {
      // Bounded header and request read times, so a client trickling bytes cannot hold a socket forever.
      const serverOptions = {
        headersTimeout: timeouts.headersTimeoutSeconds * 1000,
        requestTimeout: timeouts.requestTimeoutSeconds * 1000,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      };
      const server = serve({ fetch, hostname: host, port, serverOptions }, (info: AddressInfo) => {
        const shownHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${shownHost}:${info.port}`,
          stop: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      });
      server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, logger));
      server.once("error", reject);
    });
  },
  startWorker(env) {
    // node:cluster: the primary owns the listening socket and hands connections to the workers in turn.
    const worker = cluster.fork(env);
    const listening = new Promise<string>((resolve) =>
      worker.on("message", (message: unknown) => {
        const url = listeningUrlOf(message);
        if (url !== undefined) resolve(url);
      }),
    );
    return {
      pid: worker.process.pid ?? -1,
      listening,
      exited: new Promise((resolve) => worker.once("exit", (code, signal) => resolve({ code, signal }))),
      kill: (signal) => worker.process.kill(signal),
      // With a callback, a closed channel is reported to it instead of as an 'error' event that would crash the primary.
      send: (message) => void worker.send(message, undefined, () => {}),
      onMessage: (listener) => void worker.on("message", listener),
    };
  },
};
