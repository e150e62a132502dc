import type { SocketAddressReader } from "../http/middleware/client-ip.ts";
import type { Logger } from "../observability/logger.ts";

export type FetchHandler = (request: Request, env: object) => Response | Promise<Response>;

export type RunningServer = {
  url: string;
  /** Stops accepting connections and resolves once in-flight requests have been answered. */
  stop(): Promise<void>;
};

export type ListenOptions = {
  host: string;
  port: number;
  /** Seconds a client gets to send its headers, and its whole request (see HTTP_HEADERS_TIMEOUT in the README). */
  timeouts: { headersTimeoutSeconds: number; requestTimeoutSeconds: number };
  /** Several worker processes listen on this port (WORKERS > 1). */
  shared: boolean;
  /** For requests the runtime refuses before the app sees them. */
  logger: Logger;
};

/** A worker process as its supervisor sees it, whichever runtime started it. */
export type WorkerProcess = {
  pid: number;
  /** Resolves when the worker reports that it listens (announceListening), with its URL. */
  listening: Promise<string>;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
  /** An IPC message to the worker; dropped if the worker is gone (whoever waits for an answer has a timeout). */
  send(message: object): void;
  /** Every IPC message the worker sends. */
  onMessage(listener: (message: unknown) => void): void;
};

/** What differs between Bun and Node: how to listen, how to read the peer address, how to start a worker process. */
export type RuntimeAdapter = {
  name: string;
  readSocketAddress: SocketAddressReader;
  listen(fetch: FetchHandler, options: ListenOptions): Promise<RunningServer>;
  /** Runs this same command again as a worker process, with `env` added to this process's environment. */
  startWorker(env: Record<string, string>): WorkerProcess;
};

/** The message a worker sends its supervisor once it listens. */
type ListeningMessage = { servauth: "listening"; url: string };

export function announceListening(url: string): void {
  process.send?.({ servauth: "listening", url } satisfies ListeningMessage);
}

/** The URL in a worker's message, if it is the listening announcement. */
export function listeningUrlOf(message: unknown): string | undefined {
  const candidate = message as Partial<ListeningMessage> | null;
  return candidate?.servauth === "listening" && typeof candidate.url === "string" ? candidate.url : undefined;
}

/** The adapter for the runtime we are on; Bun-only code is never loaded on Node and the reverse. */
export async function detectRuntime(): Promise<RuntimeAdapter> {
  if (typeof globalThis.Bun !== "undefined") return (await import("./bun.ts")).bunAdapter;
  return (await import("./node.ts")).nodeAdapter;
}
