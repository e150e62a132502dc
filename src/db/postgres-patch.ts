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
 *   slot (and a stale error answers the next connection's first query).
 */
export const POSTGRES_PATCH_MARKERS = [
  "servauth patch (porsager/postgres#1208)",
  "servauth patch (stale write timer)",
  "servauth patch (lost in-flight queries)",
] as const;

/**
 * Throws unless the postgres.js this runtime loads carries the patch: `npm ci --ignore-scripts` or a copied
 * node_modules would otherwise run unpatched without a word. One small file read, once per process.
 *
 * @param entry the module postgres.js resolves to here (its connection.js sits beside it)
 */
export function assertPostgresPatched(entry: string = import.meta.resolve("postgres")): void {
  const connection = path.join(path.dirname(fileURLToPath(entry)), "connection.js");
  const source = readFileSync(connection, "utf8");
  if (POSTGRES_PATCH_MARKERS.every((marker) => source.includes(marker))) return;
  throw new Error(
    `${connection} lacks Servauth's fixes for connections PostgreSQL closes (porsager/postgres#1209 and two more), ` +
      "without which a dropped connection can crash the server or leave its pool unusable. Install dependencies with their install scripts: `npm ci` " +
      "(its postinstall runs patch-package with patches/npm/), or `bun install` (applies package.json " +
      "patchedDependencies); not with --ignore-scripts under npm.",
  );
}
