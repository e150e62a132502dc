import { type messages, type PGlite, parse, protocol, type QueryOptions, type Results } from "@electric-sql/pglite";

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
export const PREPARED_STATEMENT_CAPACITY = 500;

/** A statement PostgreSQL parsed once, with what PGlite would otherwise ask it again on every run. */
type Prepared = { name: string; paramTypes: number[]; resultDescription: messages.BackendMessage[] };

/**
 * PostgreSQL errors that mean a kept statement no longer fits the schema (a migration changed what it returns, or the
 * statement is gone): forgotten and prepared again, as postgres.js does for the same errors on a server.
 */
const STALE_STATEMENT_ROUTINES = new Set(["RevalidateCachedQuery", "FetchPreparedStatement"]);

const { serialize } = protocol;

/**
 * PGlite with every statement prepared once, by its text, as postgres.js does on a server. PGlite's own query()
 * sends each statement unnamed (parse, describe, bind, describe, execute, sync: six calls into PostgreSQL), so the
 * embedded database parses and plans a login's statements on every login; measured in process (issue #22), that
 * was a third of the database's CPU per login. Here a statement runs as one bind-execute-sync message, and its result
 * columns come from the description taken when it was prepared (the same text columns the bind asks for).
 *
 * @example
 *   const client = preparePglite(await PGlite.create({ dataDir }));
 *   const db = drizzle(client as unknown as PGlite, { schema }); // drizzle calls only PgliteClient's members
 */
export function preparePglite(pg: PGlite, capacity = PREPARED_STATEMENT_CAPACITY): PgliteClient {
  const statements = createStatementCache(pg, capacity);
  return {
    // PGlite's own order: a statement outside a transaction waits for an open one (the transaction lock), and
    // every statement holds the query lock while it talks to PostgreSQL.
    async query<T>(sql: string, params: unknown[] = [], options: QueryOptions = {}) {
      await pg._checkReady();
      return pg._runExclusiveTransaction(async () => {
        const result = await pg.runExclusive(() => statements.run<T>(sql, params, options, { retryStale: true }));
        await pg.syncToFs();
        return result;
      });
    },
    exec: (sql) => pg.exec(sql),
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn({
          async query<T>(sql: string, params: unknown[] = [], options: QueryOptions = {}) {
            if (tx.closed) throw new Error("Transaction is closed");
            // A retry inside a transaction would meet its abort (25P02): the error ends the transaction instead.
            return pg.runExclusive(() => statements.run<T>(sql, params, options, { retryStale: false }));
          },
          exec: (sql) => tx.exec(sql),
        }),
      ),
    isInTransaction: () => pg.isInTransaction(),
    get closed() {
      return pg.closed;
    },
    close: () => pg.close(),
  };
}

/** The prepared statements of one PGlite, by text. Every call runs under PGlite's query lock. */
function createStatementCache(pg: PGlite, capacity: number) {
  // A Map iterates in insertion order: re-inserted on every use, its first entry is the least recently used.
  const prepared = new Map<string, Prepared>();
  let nextName = 1;
  const send = (messages: Uint8Array[]) => pg.execProtocolStream(concat(messages), { syncToFs: false });

  async function prepare(sql: string, paramTypes: number[] | undefined): Promise<Prepared> {
    const messages: Uint8Array[] = [];
    if (prepared.size >= capacity) {
      const [oldestSql, oldest] = prepared.entries().next().value!;
      prepared.delete(oldestSql);
      messages.push(serialize.close({ type: "S", name: oldest.name }));
    }
    const name = `servauth_${nextName++}`;
    messages.push(serialize.parse({ name, text: sql, types: paramTypes }), serialize.describe({ type: "S", name }), serialize.sync());
    const replies = await send(messages);
    return { name, paramTypes: parse.parseDescribeStatementResults(replies), resultDescription: replies.filter((reply) => reply.name === "rowDescription") };
  }

  /** The statement kept for this text, now the most recently used; undefined if there is none. */
  function take(key: string): Prepared | undefined {
    const known = prepared.get(key);
    prepared.delete(key);
    return known;
  }

  async function run<T>(sql: string, params: unknown[], options: QueryOptions, { retryStale }: { retryStale: boolean }): Promise<Results<T>> {
    // Types given by the caller change the statement: they are part of its key.
    const key = options.paramTypes === undefined ? sql : `${JSON.stringify(options.paramTypes)}\n${sql}`;
    const statement = take(key) ?? (await prepare(sql, options.paramTypes));
    prepared.set(key, statement);
    // As PGlite's query() serialises them: by the type PostgreSQL inferred for each parameter.
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const type = statement.paramTypes[index]!;
      const serializer = options.serializers?.[type] ?? pg.serializers[type];
      return serializer ? serializer(value) : String(value);
    });
    let replies;
    try {
      replies = await send([serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()]);
    } catch (error) {
      if (!isStale(error)) throw error;
      take(key);
      await send([serialize.close({ type: "S", name: statement.name }), serialize.sync()]);
      if (!retryStale) throw error;
      return run(sql, params, options, { retryStale: false });
    }
    return parse.parseResults([...statement.resultDescription, ...replies], pg.parsers, options)[0] as Results<T>;
  }

  return { run };
}

const isStale = (error: unknown) => STALE_STATEMENT_ROUTINES.has((error as { routine?: string }).routine ?? "");

function concat(parts: Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}
