import type { SocketAddressReader } from "../http/middleware/client-ip.ts";

export type FetchHandler = (request: Request, env: object) => Response | Promise<Response>;

export type RunningServer = {
  url: string;
  /** Stops accepting connections and resolves once in-flight requests have been answered. */
  stop(): Promise<void>;
};

/** What differs between Bun and Node: how to listen and how to read the peer address of a request. */
export type RuntimeAdapter = {
  name: string;
  readSocketAddress: SocketAddressReader;
  listen(fetch: FetchHandler, options: { host: string; port: number }): Promise<RunningServer>;
};

/** The adapter for the runtime we are on; Bun-only code is never loaded on Node and the reverse. */
export async function detectRuntime(): Promise<RuntimeAdapter> {
  if (typeof globalThis.Bun !== "undefined") return (await import("./bun.ts")).bunAdapter;
  return (await import("./node.ts")).nodeAdapter;
}
