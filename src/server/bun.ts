import type { Server } from "bun";
import type { RuntimeAdapter } from "./runtime.ts";

type BunEnv = { server: Server<undefined> };

export const bunAdapter: RuntimeAdapter = {
  name: `bun ${Bun.version}`,
  readSocketAddress: (c) => (c.env as BunEnv).server.requestIP(c.req.raw)?.address ?? null,
  async listen(fetch, { host, port }) {
    const server = Bun.serve({
      hostname: host,
      port,
      // Seconds a connection may sit idle (also bounds a client trickling its request).
      idleTimeout: 30,
      fetch: (request, bunServer) => fetch(request, { server: bunServer } satisfies BunEnv),
    });
    return {
      url: server.url.toString().replace(/\/$/, ""),
      stop: () => server.stop(false),
    };
  },
};
