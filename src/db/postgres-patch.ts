import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The comments our patch of postgres.js 3.4.9 adds, one per fix (patches/npm for npm's postinstall, patches/bun for
 * Bun's patchedDependencies). Unpatched, when PostgreSQL ends a connection while queries flow:
 * - a write buffered for the closed socket throws from a timer, which ends the process (porsager/postgres#1208;
 *   upstream fix proposed in porsager/postgres#1209);
 * - the buffered write's timer is cancelled but kept, so the connection, reused, never sends its start-up message
 *   again and every later query on it fails with CONNECT_TIMEOUT until the process restarts;
 * - queries pipelined onto it after the reset are neither answered nor rejected, and wait forever, holding a pool
 *   slot (and a stale error answers the next connection's first query);
 * - a transaction's statements issued after its connection closed run on that connection once the pool has
 *   reconnected it for other work: outside the transaction, each committing on its own.
 */
export const POSTGRES_PATCH_MARKERS = [
  "servauth patch (porsager/postgres#1208)",
  "servauth patch (stale write timer)",
  "servauth patch (lost in-flight queries)",
  "servauth patch (transaction cut)",
] as const;

/**
 * Throws unless the postgres.js this runtime loads carries the patch: `npm ci --ignore-scripts` or a copied
 * node_modules would otherwise run unpatched without a word. Two small file reads, once per process.
 *
 * @param entry the module postgres.js resolves to here (its connection.js and index.js sit beside it)
 */
export function assertPostgresPatched(entry: string = import.meta.resolve("postgres")): void {
  const directory = path.dirname(fileURLToPath(entry));
  // The patch changes connection.js and index.js (the transaction fix), the entry's neighbours in every build.
  const source = ["connection.js", "index.js"].map((file) => readFileSync(path.join(directory, file), "utf8")).join("\n");
  if (POSTGRES_PATCH_MARKERS.every((marker) => source.includes(marker))) return;
  throw new Error(
    `postgres.js in ${directory} lacks Servauth's fixes for connections PostgreSQL closes (porsager/postgres#1209 ` +
      "and three more), without which a dropped connection can crash the server, leave its pool unusable or commit " +
      "half a transaction. Install dependencies with their install scripts: `npm ci` (its postinstall runs " +
      "patch-package with patches/npm/), or `bun install` (applies package.json patchedDependencies); not with " +
      "--ignore-scripts under npm.",
  );
}
