import { readFile } from "node:fs/promises";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { type PgliteQueries, preparePglite } from "./prepared-pglite.ts";
import { type PgliteReply, type PgliteRequest, type PgliteThreadOptions, START_REQUEST_ID, toErrorData } from "./pglite-protocol.ts";

/**
 * The worker thread that runs PGlite (started by pglite-worker.ts through pglite-thread-entry.mjs): this module is an
 * entry point, so it starts serving when loaded. Requests are handled as they come, concurrently: PGlite's own
 * mutexes order them exactly as they would order the same calls in one thread (a statement outside a transaction
 * waits for the open one; one transaction at a time).
 */

/** The rejection that makes PGlite's transaction() roll back when the server's thread asks for it. */
const ROLLBACK = Symbol("rollback");
const identity = (value: unknown) => value;
/**
 * The identity parsers of each set of OIDs the server's thread asked for, made once: the statement cache keeps its
 * merge with PGlite's parsers per parsers object (prepared-pglite.ts), which a fresh object per request would defeat.
 * The sets are drizzle's few constant ones.
 */
const identityParsers = new Map<string, Record<number, typeof identity>>();
const identityParsersOf = (oids: number[]) => {
  const key = oids.join(",");
  let parsers = identityParsers.get(key);
  if (parsers === undefined) {
    parsers = Object.fromEntries(oids.map((oid) => [oid, identity]));
    identityParsers.set(key, parsers);
  }
  return parsers;
};

type OpenTransaction = { tx: PgliteQueries; settle(commit: boolean): void; finished: Promise<void> };

/**
 * The thread's nice value: below the server's thread, so that when the cores are busy (logins hashing on every core)
 * the scheduler runs the event loop first and requests answered from memory do not queue behind the database's
 * work. Only raised, which needs no privilege, and only on Linux, where the nice value is the calling thread's alone
 * (elsewhere it would be the whole server's).
 */
const NICENESS = 10;

const port = parentPort;
if (port === null) throw new Error("pglite-thread.ts runs as a worker thread");
if (process.platform === "linux") {
  try {
    setPriority(NICENESS);
  } catch {
    // Refused (a sandbox without setpriority): the thread runs at the server's priority.
  }
}
const reply = (message: PgliteReply) => port.postMessage(message);

const pg = await open(workerData as PgliteThreadOptions).then(
  (opened) => preparePglite(opened),
  (error: unknown) => {
    reply({ id: START_REQUEST_ID, ok: false, error: toErrorData(error) });
    return null;
  },
);
if (pg !== null) {
  const transactions = new Map<number, OpenTransaction>();
  let nextTransactionId = 1;

  const begin = () =>
    new Promise<number>((began, failed) => {
      const id = nextTransactionId++;
      const finished: Promise<void> = pg
        .transaction(
          (tx) =>
            new Promise<void>((commit, rollback) => {
              transactions.set(id, { tx, settle: (doCommit) => (doCommit ? commit() : rollback(ROLLBACK)), finished });
              began(id);
            }),
        )
        .catch((error: unknown) => {
          if (error !== ROLLBACK) throw error;
        });
      // Before `began`, this is BEGIN failing; after it, a no-op (whoever ends the transaction awaits `finished`).
      finished.catch(failed);
    });

  const end = async (id: number, commit: boolean) => {
    const open = transactionOf(id);
    transactions.delete(id);
    open.settle(commit);
    await open.finished;
  };

  function transactionOf(id: number): OpenTransaction {
    const open = transactions.get(id);
    if (open === undefined) throw new Error(`transaction ${id} is not open in the PGlite thread`);
    return open;
  }

  const handle = async (request: PgliteRequest): Promise<unknown> => {
    switch (request.op) {
      case "query": {
        const on = request.tx === null ? pg : transactionOf(request.tx).tx;
        return on.query(request.sql, request.params, { rowMode: request.rowMode, parsers: identityParsersOf(request.unparsedOids) });
      }
      case "exec":
        return (request.tx === null ? pg : transactionOf(request.tx).tx).exec(request.sql);
      case "begin":
        return begin();
      case "end":
        return end(request.tx, request.commit);
      case "close":
        return pg.close();
    }
  };

  // A request that cannot be read cannot be answered: end the thread, so that the server fails every query at once
  // (pglite-worker.ts) rather than leave one waiting for ever.
  port.on("messageerror", (error) => {
    throw error;
  });
  const fail = (id: number, error: unknown) => reply({ id, ok: false, error: toErrorData(error) });
  port.on("message", (request: PgliteRequest) => {
    handle(request).then((value) => {
      try {
        reply({ id: request.id, ok: true, value });
      } catch (error) {
        // A value structured clone refuses: the query's error, not the thread's end.
        fail(request.id, error);
      }
    }, (error: unknown) => fail(request.id, error));
  });
  reply({ id: START_REQUEST_ID, ok: true, value: null });
}

async function open(options: PgliteThreadOptions): Promise<PGlite> {
  if (options.dataDir !== null) return PGlite.create({ dataDir: options.dataDir });
  if (options.snapshotPath === undefined) return PGlite.create();
  return PGlite.create({ loadDataDir: new Blob([await readFile(options.snapshotPath)]) });
}
