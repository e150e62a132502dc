import { Worker } from "node:worker_threads";
import type { QueryOptions, Results } from "@electric-sql/pglite";
import type { PgliteClient } from "./prepared-pglite.ts";
import { fromErrorData, type PgliteReply, type PgliteRequest, type PgliteThreadOptions, START_REQUEST_ID } from "./pglite-protocol.ts";

/** PGlite's interface as drizzle, its migrator and Servauth call it, answered by a worker thread. */
export type PgliteWorker = PgliteClient & {
  /** Closes PGlite (its files complete on disk) and ends the thread. */
  close(): Promise<void>;
  /** Ends the thread at once, PGlite left as it is: what a crash of the thread does (the tests' crash). */
  terminate(): Promise<void>;
};

/** The PGlite thread is gone (crashed or killed): the database is unavailable, as a dropped connection is. */
export class PgliteWorkerExitedError extends Error {
  readonly code = "PGLITE_WORKER_EXITED";
  constructor(cause: unknown) {
    super("the embedded database's worker thread exited", { cause });
    this.name = "PgliteWorkerExitedError";
  }
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
/** Omit applied to each member of a union (Omit on the union itself would keep only their common keys). */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
/** A request before it is given its id. */
type Op = WithoutId<PgliteRequest>;

export type PgliteWorkerEvents = {
  /** The thread ended without close() (a crash, or a message it could not read): every query fails from now on. */
  onUnexpectedExit?: (error: PgliteWorkerExitedError) => void;
};

/**
 * Starts PGlite in a worker thread and resolves once it is open. PGlite runs PostgreSQL (WebAssembly) synchronously,
 * and with a data directory writes its files synchronously on commit: on the server's thread that stalls every other
 * request for as long (issue #22). In its own thread it stalls only the queries that wait for it anyway.
 *
 * @example
 *   const pg = await startPgliteWorker({ dataDir: "./data/pgdata" });
 *   const handle = openPglite(pg); // drizzle over it, as over PGlite itself
 */
export async function startPgliteWorker(options: PgliteThreadOptions, events: PgliteWorkerEvents = {}): Promise<PgliteWorker> {
  // No execArgv: the entry registers tsx itself where needed, and the server's flags are not the thread's.
  const worker = new Worker(new URL("./pglite-thread-entry.mjs", import.meta.url), { workerData: options, execArgv: [] });
  const pending = new Map<number, Pending>();
  let nextId = START_REQUEST_ID + 1;
  let openTransactions = 0;
  let closing: Promise<void> | undefined;
  let gone: Error | null = null;
  let lastError: unknown;

  // The thread keeps the process alive only while it owes an answer, like a socket with a query in flight: an
  // idle, forgotten database does not hold a finished CLI command open.
  const refWhileBusy = () => (pending.size > 0 ? worker.ref() : worker.unref());
  worker.on("message", ({ id, ...reply }: PgliteReply) => {
    const waiting = pending.get(id);
    pending.delete(id);
    refWhileBusy();
    if (reply.ok) waiting?.resolve(reply.value);
    else waiting?.reject(fromErrorData(reply.error));
  });
  worker.on("error", (error) => {
    lastError = error;
  });
  // An answer that cannot be read leaves its query waiting for ever: the protocol is broken, so is the thread.
  worker.on("messageerror", (error) => {
    lastError = error;
    void worker.terminate();
  });
  worker.on("exit", (exitCode) => {
    const expected = gone !== null || closing !== undefined;
    const exited = new PgliteWorkerExitedError(lastError ?? new Error(`exit code ${exitCode}`));
    gone ??= exited;
    for (const waiting of pending.values()) waiting.reject(gone);
    pending.clear();
    if (!expected) events.onUnexpectedExit?.(exited);
  });

  const send = <T>(op: Op): Promise<T> => {
    // While closing, the thread's PGlite answers as it would here: a transaction already open runs to its end.
    if (gone !== null) return Promise.reject(gone);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      refWhileBusy();
      try {
        worker.postMessage({ id, ...op } satisfies PgliteRequest);
      } catch (error) {
        // A value structured clone refuses (a function among the parameters).
        pending.delete(id);
        refWhileBusy();
        reject(error as Error);
      }
    });
  };
  const queryIn = (tx: number | null) => ({
    query: async <T>(sql: string, params: unknown[] = [], options: QueryOptions = {}) =>
      send<Results<T>>({ op: "query", tx, sql, params, rowMode: options.rowMode ?? "object", unparsedOids: unparsedOidsOf(options) }),
    exec: (sql: string) => send<Results[]>({ op: "exec", tx, sql }),
  });

  try {
    await new Promise<void>((resolve, reject) => pending.set(START_REQUEST_ID, { resolve: () => resolve(), reject }));
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    ...queryIn(null),
    async transaction(fn) {
      const tx = await send<number>({ op: "begin" });
      openTransactions++;
      try {
        let result;
        try {
          result = await fn(queryIn(tx));
        } catch (error) {
          // A rollback the thread cannot do (it is gone) is no news: the error that ended the transaction is.
          await send({ op: "end", tx, commit: false }).catch(() => {});
          throw error;
        }
        await send({ op: "end", tx, commit: true });
        return result;
      } finally {
        openTransactions--;
      }
    },
    isInTransaction: () => openTransactions > 0,
    get closed() {
      return gone !== null;
    },
    close: () =>
      (closing ??= (async () => {
        try {
          if (gone === null) await send({ op: "close" });
        } finally {
          await worker.terminate();
          // The message PGlite itself throws when used after close() (src/db/errors.ts knows it).
          gone ??= new Error("PGlite is closed");
        }
      })()),
    terminate: async () => void (await worker.terminate()),
  };
}

/**
 * The OIDs whose text drizzle wants as it is. Parsers are functions, which cannot cross to the thread, so only
 * identity parsers are carried (as their OIDs, applied there); any other option would be silently lost: refused.
 */
function unparsedOidsOf(options: QueryOptions): number[] {
  const { rowMode: _rowMode, parsers = {}, ...others } = options;
  const unsupported = Object.keys(others);
  if (unsupported.length > 0) throw new Error(`the PGlite worker does not support the query options ${unsupported.join(", ")}`);
  const probe = "servauth: identity parser probe";
  return Object.entries(parsers).map(([oid, parse]) => {
    if (parse(probe, Number(oid)) !== probe) throw new Error(`the PGlite worker carries only identity parsers; the one for type ${oid} is not`);
    return Number(oid);
  });
}
