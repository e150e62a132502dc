import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { TestProject } from "vitest/node";
import { openPglite } from "../../src/db/client.ts";
import { preparePglite } from "../../src/db/prepared-pglite.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteSnapshotPath: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "servauth-tests");

/**
 * Hands the test files the path of a migrated PGlite data directory (a tar), which each file loads instead of
 * running initdb (seconds of WebAssembly) and the migrations. The tar is kept in node_modules/.cache under a name
 * derived from everything that shapes it (the migrations, the migrator, PGlite and drizzle versions), so it is
 * built once per change of schema rather than once per run and project.
 */
export default async function setup(project: TestProject) {
  const file = path.join(CACHE_DIR, `pglite-${await snapshotKey()}.tar`);
  if (!(await exists(file))) await buildSnapshot(file);
  project.provide("pgliteSnapshotPath", file);
}

async function buildSnapshot(file: string): Promise<void> {
  const client = new PGlite();
  const handle = openPglite(preparePglite(client));
  await migrateDatabase(handle);
  const snapshot = await client.dumpDataDir("none");
  await handle.close();
  await mkdir(CACHE_DIR, { recursive: true });
  // Written aside and renamed: a concurrent run never reads half a tar.
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, Buffer.from(await snapshot.arrayBuffer()));
  await rename(partial, file);
}

async function snapshotKey(): Promise<string> {
  const hash = createHash("sha256");
  const migrations = path.join(ROOT, "src", "db", "migrations");
  const files = (await readdir(migrations, { recursive: true })).map(String).sort();
  for (const name of files) {
    const full = path.join(migrations, name);
    if ((await stat(full)).isFile()) hash.update(name).update(await readFile(full));
  }
  hash.update(await readFile(path.join(ROOT, "src", "db", "migrate.ts")));
  for (const pkg of ["@electric-sql/pglite", "drizzle-orm"]) {
    hash.update(await readFile(path.join(ROOT, "node_modules", pkg, "package.json")));
  }
  return hash.digest("hex").slice(0, 16);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
