import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { TestProject } from "vitest/node";
import { openPglite } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteSnapshotPath: string;
  }
}

/**
 * Builds one migrated PGlite data directory per run and hands its path to the test files. PGlite's initdb costs
 * seconds under WebAssembly; loading a snapshot costs a fraction of that, and every file still gets a fresh copy.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(tmpdir(), "servauth-pglite-"));
  const client = new PGlite();
  const handle = openPglite(client);
  await migrateDatabase(handle);
  const snapshot = await client.dumpDataDir("none");
  await handle.close();
  const file = path.join(dir, "migrated.tar");
  await writeFile(file, Buffer.from(await snapshot.arrayBuffer()));
  project.provide("pgliteSnapshotPath", file);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
