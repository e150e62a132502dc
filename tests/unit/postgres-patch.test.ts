import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { assertPostgresPatched, POSTGRES_PATCH_MARKERS } from "../../src/db/postgres-patch.ts";

/**
 * postgres.js is patched at install (patch-package under npm, patchedDependencies under Bun) and the server checks at
 * start that the patch is there: a missing patch must stop it with a message that says what to do.
 * @see https://github.com/porsager/postgres/pull/1209
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const postgresVersion = packageJson.dependencies.postgres;
const npmPatch = `patches/npm/postgres+${postgresVersion}.patch`;
const bunPatch = `patches/bun/postgres@${postgresVersion}.patch`;

describe("the start-up check", () => {
  let scratch: string;
  const installed = new Map<string, string>();
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "servauth-postgres-patch-"));
    for (const file of ["connection.js", "index.js"]) installed.set(file, await readFile(path.join(ROOT, "node_modules/postgres/src", file), "utf8"));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });
  /** The entry of a postgres.js whose patched files are the installed ones without these markers. */
  async function without(markers: readonly string[]): Promise<string> {
    const directory = await mkdtemp(path.join(scratch, "copy-"));
    for (const [file, source] of installed) {
      await writeFile(path.join(directory, file), markers.reduce((text, marker) => text.replaceAll(marker, ""), source));
    }
    return pathToFileURL(path.join(directory, "index.js")).href;
  }

  test("passes on the postgres.js this project installs", () => {
    expect(() => assertPostgresPatched()).not.toThrow();
  });

  test("refuses an unpatched postgres.js, naming the fix and how to install it", async () => {
    const entry = await without(POSTGRES_PATCH_MARKERS);
    expect(() => assertPostgresPatched(entry)).toThrow(/porsager\/postgres#1209.*`npm ci`.*`bun install`/s);
  });

  test("refuses one patched before a fix was added (an older patch)", async () => {
    for (const marker of POSTGRES_PATCH_MARKERS) {
      const entry = await without([marker]);
      expect(() => assertPostgresPatched(entry), marker).toThrow(/lacks/);
    }
  });
});

describe("the patch", () => {
  test("npm applies it after install and Bun through patchedDependencies, for the postgres version installed", () => {
    expect(packageJson.scripts.postinstall).toBe("patch-package --patch-dir patches/npm");
    expect(packageJson.patchedDependencies).toEqual({ [`postgres@${postgresVersion}`]: bunPatch });
  });

  test("is the same change for both, and adds the line the start-up check looks for", async () => {
    const forNpm = await readFile(path.join(ROOT, npmPatch), "utf8");
    const forBun = await readFile(path.join(ROOT, bunPatch), "utf8");
    // patch-package names files from the project root, Bun from the package's own directory.
    expect(forNpm.replaceAll(/([ab])\/node_modules\/postgres\//g, "$1/")).toBe(forBun);
    for (const marker of POSTGRES_PATCH_MARKERS) expect(forBun).toContain(marker);
  });
});
