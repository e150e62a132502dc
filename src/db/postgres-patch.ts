import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The line our patch of postgres.js adds (patches/npm for npm's postinstall, patches/bun for Bun's
 * patchedDependencies). Unpatched, postgres.js 3.4.9 writes to a connection PostgreSQL has already closed and throws
 * from a timer, which ends the process (porsager/postgres#1208; upstream fix proposed in porsager/postgres#1209).
 */
export const POSTGRES_PATCH_MARKER = "servauth patch (porsager/postgres#1208)";

/**
 * Throws unless the postgres.js this runtime loads carries the patch: `npm ci --ignore-scripts` or a copied
 * node_modules would otherwise run unpatched without a word. One small file read, once per process.
 *
 * @param entry the module postgres.js resolves to here (its connection.js sits beside it)
 */
export function assertPostgresPatched(entry: string = import.meta.resolve("postgres")): void {
  const connection = path.join(path.dirname(fileURLToPath(entry)), "connection.js");
  if (readFileSync(connection, "utf8").includes(POSTGRES_PATCH_MARKER)) return;
  throw new Error(
    `${connection} lacks Servauth's fix for writes to a closed PostgreSQL connection (porsager/postgres#1209), without ` +
      "which a dropped connection can crash the server. Install dependencies with their install scripts: `npm ci` " +
      "(its postinstall runs patch-package with patches/npm/), or `bun install` (applies package.json " +
      "patchedDependencies); not with --ignore-scripts under npm.",
  );
}
