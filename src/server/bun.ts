import type { Server } from "bun";
import { listeningUrlOf, type RuntimeAdapter, type WorkerProcess } from "./runtime.ts";

type BunEnv = { server: Server<undefined> };

export const bunAdapter: RuntimeAdapter = {
  name: `bun ${Bun.version}`,
  readSocketAddress: (c, request) => (c.env as BunEnv).server.requestIP(request)?.address ?? null,
  async listen(fetch, { host, port, timeouts, shared }) {
    const server = Bun.serve({
      hostname: host,
      port,
      // SO_REUSEPORT: every worker binds the port itself and the kernel spreads new connections over them (Linux).
      reusePort: shared,
      // Bun's only read timeout to set, also running while a handler does (so not shorter than a request may take).
      // A trickle of bytes does not restart it. A new connection's first headers get a fixed 10 s instead: Bun has no
      // header deadline to set (README, HTTP_HEADERS_TIMEOUT).
      idleTimeout: timeouts.requestTimeoutSeconds,
      // Bun refuses a declared body over this itself, with a bare 413; the app's own limit (MAX_BODY_BYTES, far
      // smaller) is the one to answer, in our format, and it also bounds a chunked body as it streams in. That 413
      // carries `Connection: close`, on which Bun closes the connection; without it Bun would read and discard the
      // declared body for as long as the client kept sending.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: (request, bunServer) => fetch(request, { server: bunServer } satisfies BunEnv),
    });
    return {
      url: server.url.toString().replace(/\/$/, ""),
      stop: () => server.stop(false),
    };
  },
  startWorker(env) {
    const listeners: Array<(message: unknown) => void> = [];
    const child = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
      ipc(message) {
        for (const listener of listeners) listener(message);
      },
    });
    const listening = new Promise<string>((resolve) =>
      listeners.push((message) => {
        const url = listeningUrlOf(message);
        if (url !== undefined) resolve(url);
      }),
    );
    const worker: WorkerProcess = {
      pid: child.pid,
      listening,
      exited: child.exited.then(() => ({ code: child.exitCode, signal: child.signalCode === null ? null : String(child.signalCode) })),
      kill: (signal) => child.kill(signal),
      send(message) {
        try {
          child.send(message);
        } catch {
          // The worker is gone (its exit is handled elsewhere).
        }
      },
      onMessage: (listener) => listeners.push(listener),
    };
    return worker;
  },
};
