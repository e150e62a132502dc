import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { RuntimeAdapter } from "./runtime.ts";

export const nodeAdapter: RuntimeAdapter = {
  name: `node ${process.versions.node}`,
  readSocketAddress: (c) => getConnInfo(c).remote.address ?? null,
  listen(fetch, { host, port }) {
    return new Promise((resolve, reject) => {
      // Bounded header and request read times, so a client trickling bytes cannot hold a socket forever.
      const serverOptions = { headersTimeout: 15_000, requestTimeout: 30_000 };
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
      server.once("error", reject);
    });
  },
};
