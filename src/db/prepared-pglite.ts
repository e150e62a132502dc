import { type messages, type PGlite, type ParserOptions, parse, protocol, type QueryOptions, type Results } from "@electric-sql/pglite";

/**
 * The statements drizzle, its migrator and Servauth run, outside a transaction or inside one (drizzle's savepoints
 * of nested transactions are statements too).
 */
export type PgliteQueries = {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
};

/** The part of PGlite's interface that drizzle and Servauth call, in this thread or answered by a worker thread. */
export type PgliteClient = PgliteQueries & {
  transaction<T>(fn: (tx: PgliteQueries) => Promise<T>): Promise<T>;
  /** True while a transaction is open (the tests' database reuse asks). */
  isInTransaction(): boolean;
  readonly closed: boolean;
  close(): Promise<void>;
};

/** The distinct statements kept prepared; the least recently run is closed to make room for a new one. */
const PREPARED_STATEMENT_CAPACITY = 500;

/**
 * The statements worth keeping: those PostgreSQL plans. Any other (DDL, SET, SAVEPOINT, EXECUTE, CALL) runs
 * unnamed, as PGlite's own query() runs everything: PostgreSQL fixes such a statement's result columns when it is
 * parsed and never checks them again, and they run too rarely to be worth keeping. Any of them, and anything run
 * through exec(), may change what the kept statements mean (a column's type, the search_path, a DEALLOCATE):
 * PostgreSQL checks a kept statement again only for its result columns, its parameters' types stay as parsed. So
 * after one, succeeded or failed, every kept statement is forgotten; and inside a transaction nothing more is kept
 * until it ends, since its rollback (or a rollback to a savepoint) would undo the change again. A change made by a
 * function called from a kept statement is not seen (Servauth's migrations make theirs in DDL statements).
 */
const PLANNED_STATEMENT = /^\s*(?:select|insert|update|delete|with|values|merge)\b/i;
/**
 * Maintenance, which changes no kept statement's meaning (after an ANALYZE, PostgreSQL plans a kept statement over
 * its table again by itself): run unnamed, and the kept statements stay, so the embedded database's vacuum job
 * (src/db/embedded-vacuum.ts) does not make every statement parse again. query() carries one statement (the
 * extended protocol refuses more), so nothing can ride behind it in the same text.
 */
const MAINTENANCE_STATEMENT = /^\s*(?:vacuum|analy[sz]e)\b/i;
/**
 * More parameters than this and a statement is not kept: a list of values (drizzle's inArray) would make each length
 * a statement of its own, and a kept plan's memory is WebAssembly heap, which never shrinks.
 */
const MAX_KEPT_PARAMETERS = 64;
/**
 * PostgreSQL's errors at Bind that mean a kept statement no longer fits the schema: it is forgotten, prepared
 * again and (outside a transaction) run again, as postgres.js does for the same routines on a server. Only an error
 * at Bind, before anything ran, is retried.
 */
const STALE_STATEMENT_ROUTINES = new Set(["RevalidateCachedQuery", "FetchPreparedStatement", "transformAssignedExpr"]);

const { serialize } = protocol;
/** Each client's statement names are its own, should two ever share one PGlite. */
let clientsMade = 0;

/**
 * PGlite with its statements prepared once, by their text, as postgres.js does on a server. PGlite's own query()
 * sends each statement unnamed (parse, describe, bind, describe, execute, sync: six calls into PostgreSQL), so the
 * embedded database parsed and planned a login's statements on every login: measured in process (issue #22), a
 * third of its CPU per login. Here a kept statement runs as one bind-execute-sync message, and its result columns
 * come from the description taken when it was prepared (the same text columns the bind asks for).
 *
 * @example
 *   const client = preparePglite(await PGlite.create({ dataDir }));
 *   const db = drizzle(client as unknown as PGlite, { schema }); // drizzle calls only PgliteClient's members
 */
export function preparePglite(pg: PGlite, capacity = PREPARED_STATEMENT_CAPACITY): PgliteClient {
  const statements = createStatementCache(pg, capacity, `servauth_${++clientsMade}_`);
  /** Runs `work` as PGlite runs a statement outside a transaction: after any open one, then written out. */
  const outsideTransactions = async <R>(work: () => Promise<R>) => {
    await pg._checkReady();
    return pg._runExclusiveTransaction(async () => {
      const result = await pg.runExclusive(work);
      await pg.syncToFs();
      return result;
    });
  };
  return {
    // PGlite's own order: a statement outside a transaction waits for an open one (the transaction lock), and
    // every statement holds the query lock while it talks to PostgreSQL. (Both locks' methods are PGlite's
    // internals, typed in its declarations; its version is pinned exactly.)
    query: (sql, params = [], options = {}) => outsideTransactions(() => statements.run(sql, params, options)),
    exec: (sql) => outsideTransactions(() => statements.exec(sql)),
    transaction: (fn) =>
      pg.transaction((tx) => {
        const open = () => {
          if (tx.closed) throw new Error("Transaction is closed");
        };
        return fn({
          async query(sql, params = [], options = {}) {
            open();
            return pg.runExclusive(() => statements.run(sql, params, options));
          },
          async exec(sql) {
            open();
            return pg.runExclusive(() => statements.exec(sql));
          },
        });
      }),
    isInTransaction: () => pg.isInTransaction(),
    get closed() {
      return pg.closed;
    },
    close: () => pg.close(),
  };
}

/** A statement PostgreSQL has parsed, with what PGlite would otherwise ask it again on every run. */
type Prepared = { name: string; paramTypes: number[]; resultDescription: messages.BackendMessage[] };

/** The prepared statements of one PGlite, by text. Every call runs under PGlite's query lock. */
function createStatementCache(pg: PGlite, capacity: number, namePrefix: string) {
  // A Map iterates in insertion order: re-inserted on every use, its first entry is the least recently used.
  const kept = new Map<string, Prepared>();
  let statementsMade = 0;
  // Set when a statement that may change what kept statements mean ran inside a transaction (see PLANNED_STATEMENT).
  let changedInOpenTransaction = false;
  const keepingSuspended = () => {
    if (changedInOpenTransaction && !pg.isInTransaction()) changedInOpenTransaction = false;
    return changedInOpenTransaction;
  };
  // PGlite's parseResults merges a caller's parsers into the defaults it is given by copying both
  // ({ ...defaults, ...parsers }) on every call, and pg.parsers holds one for every array type in pg_type: that copy
  // was a third of a trivial statement's CPU (issue #22). Instead, each parsers object gets one overlay, made once,
  // whose own entries are its parsers and whose prototype is pg.parsers (so a parser PGlite adds later is seen), and
  // parseResults is given the overlay as its defaults and no parsers to copy.
  const overlays = new WeakMap<ParserOptions, PGlite["parsers"]>();
  const parsersOf = ({ parsers }: QueryOptions): PGlite["parsers"] => {
    if (parsers === undefined) return pg.parsers;
    let overlay = overlays.get(parsers);
    if (overlay === undefined) {
      overlay = Object.assign(Object.create(pg.parsers) as PGlite["parsers"], parsers);
      overlays.set(parsers, overlay);
    }
    return overlay;
  };
  const parseReplies = (replies: messages.BackendMessage[], options: QueryOptions) =>
    parse.parseResults(replies, parsersOf(options), options.rowMode === undefined ? {} : { rowMode: options.rowMode });
  const send = (parts: Uint8Array[], options: QueryOptions = {}, throwOnError = true) =>
    pg.execProtocolStream(Buffer.concat(parts), { syncToFs: false, throwOnError, ...(options.onNotice ? { onNotice: options.onNotice } : {}) });

  /** Parses the statement under `name` ("" for the unnamed statement), closing `evicted` first. */
  async function prepare(sql: string, name: string, options: QueryOptions, evicted: Prepared | undefined): Promise<Prepared> {
    const parts = evicted === undefined ? [] : [serialize.close({ type: "S", name: evicted.name })];
    parts.push(serialize.parse({ name, text: sql, types: options.paramTypes }), serialize.describe({ type: "S", name }), serialize.sync());
    const replies = await send(parts, options);
    return { name, paramTypes: parse.parseDescribeStatementResults(replies), resultDescription: replies.filter((reply) => reply.name === "rowDescription") };
  }

  /** The kept statement for `key`, made the most recently used; prepared (and kept) if it is not there. */
  async function keptStatement(key: string, sql: string, options: QueryOptions): Promise<Prepared> {
    const known = kept.get(key);
    kept.delete(key);
    const leastRecent = kept.size >= capacity ? kept.entries().next().value : undefined;
    if (leastRecent !== undefined) kept.delete(leastRecent[0]);
    const statement = known ?? (await prepare(sql, `${namePrefix}${++statementsMade}`, options, leastRecent?.[1]));
    kept.set(key, statement);
    return statement;
  }

  /** A statement that may change what the kept ones mean: all are forgotten after it (see PLANNED_STATEMENT). */
  async function changing<R>(work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } finally {
      await forgetAll();
      if (pg.isInTransaction()) changedInOpenTransaction = true;
    }
  }

  const runUnnamed = async <T>(sql: string, params: unknown[], options: QueryOptions) =>
    execute<T>(await prepare(sql, "", options, undefined), params, options, { mayBeStale: false });

  async function run<T>(sql: string, params: unknown[], options: QueryOptions, retried = false): Promise<Results<T>> {
    if (options.blob !== undefined) throw new Error("the embedded database's client does not support PGlite's blob option");
    if (MAINTENANCE_STATEMENT.test(sql)) return runUnnamed<T>(sql, params, options);
    if (!PLANNED_STATEMENT.test(sql)) return changing(() => runUnnamed<T>(sql, params, options));
    if (params.length > MAX_KEPT_PARAMETERS || keepingSuspended()) return runUnnamed<T>(sql, params, options);
    // Types given by the caller change the statement: they are part of its key.
    const key = options.paramTypes === undefined ? sql : `${JSON.stringify(options.paramTypes)}\n${sql}`;
    const statement = await keptStatement(key, sql, options);
    try {
      return await execute<T>(statement, params, options, { mayBeStale: true });
    } catch (error) {
      if (!(error instanceof StaleStatementError)) throw error;
      kept.delete(key);
      await send([serialize.close({ type: "S", name: statement.name }), serialize.sync()]);
      // Inside a transaction the error aborted it, and a retry would only meet the abort (25P02).
      if (retried || pg.isInTransaction()) throw error.databaseError;
      return run(sql, params, options, true);
    }
  }

  /** Runs a parsed statement; with `mayBeStale` (a kept one), a stale statement's error at Bind is a StaleStatementError. */
  async function execute<T>(statement: Prepared, params: unknown[], options: QueryOptions, { mayBeStale }: { mayBeStale: boolean }): Promise<Results<T>> {
    // As PGlite's query() serialises them: by the type PostgreSQL inferred for each parameter.
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const type = statement.paramTypes[index]!;
      const serializer = options.serializers?.[type] ?? pg.serializers[type];
      return serializer ? serializer(value) : String(value);
    });
    // The error is read from the replies rather than thrown, to tell an error at Bind (nothing ran) from one later.
    const replies = await send([serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()], options, false);
    const failed = replies.findIndex((reply) => reply.name === "error");
    if (failed !== -1) {
      const error = replies[failed] as messages.DatabaseError;
      const atBind = !replies.slice(0, failed).some((reply) => reply.name === "bindComplete");
      throw mayBeStale && atBind && STALE_STATEMENT_ROUTINES.has(error.routine ?? "") ? new StaleStatementError(error) : error;
    }
    return parseReplies([...statement.resultDescription, ...replies], options)[0] as Results<T>;
  }

  /** PGlite's exec(): statements in the simple protocol, any number of them. */
  const exec = (sql: string) => changing(async () => parseReplies(await send([serialize.query(sql), serialize.sync()]), {}));

  /** Closes every kept statement, in one message (closing one PostgreSQL no longer has is no error). */
  async function forgetAll(): Promise<void> {
    if (kept.size === 0) return;
    const parts = [...kept.values()].map((statement) => serialize.close({ type: "S", name: statement.name }));
    kept.clear();
    await send([...parts, serialize.sync()]);
  }

  return { run, exec };
}

/** A kept statement refused at Bind because the schema changed under it. */
class StaleStatementError extends Error {
  constructor(readonly databaseError: messages.DatabaseError) {
    super(databaseError.message);
  }
}
