import { connect, type Socket } from "node:net";

/**
 * One HTTP/1.1 keep-alive connection the test holds itself, so it knows which connection (and so which server
 * process) each request travels on, and can send a request byte by byte.
 */
export type HttpConnection = {
  socket: Socket;
  /** The client's port: the server side of this connection is 127.0.0.1:<server port> <-> 127.0.0.1:<localPort>. */
  localPort: number;
  /** Sends one request and reads its response (Content-Length framed, as every Servauth response is). */
  request(method: string, path: string, options?: { headers?: Record<string, string>; body?: unknown }): Promise<HttpResponse>;
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>;
  close(): void;
};

export type HttpResponse = { status: number; headers: Record<string, string>; body: string };

export function openConnection(port: number): Promise<HttpConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.off("error", reject);
      // Errors (a reset from the server) end the connection like a close does; readers are told by "close".
      socket.on("error", () => {});
      const closed = new Promise<void>((done) => socket.once("close", () => done()));
      resolve({
        socket,
        localPort: socket.localPort ?? 0,
        request: (method, path, options = {}) => {
          const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
          const headers = { host: "127.0.0.1", ...(body ? { "content-type": "application/json", "content-length": String(body.length) } : {}), ...options.headers };
          const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
          const answer = readResponse(socket);
          socket.write(`${method} ${path} HTTP/1.1\r\n${head}\r\n`);
          if (body) socket.write(body);
          return answer;
        },
        closed,
        close: () => socket.destroy(),
      });
    });
    socket.once("error", reject);
  });
}

/** Resolves with the next complete response on the socket; rejects if the connection closes first. */
export function readResponse(socket: Socket): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onClose = () => reject(new Error(`connection closed after ${received.length} bytes`));
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headerEnd = received.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const [statusLine = "", ...lines] = received.subarray(0, headerEnd).toString("latin1").split("\r\n");
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
      );
      const length = Number(headers["content-length"] ?? "0");
      if (received.length < headerEnd + 4 + length) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: received.subarray(headerEnd + 4, headerEnd + 4 + length).toString("utf8") });
    };
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}
