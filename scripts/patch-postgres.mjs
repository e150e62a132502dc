// Applied by `npm install` / `bun install` (postinstall): makes postgres.js settle a write to a connection that has
// already closed instead of throwing from a timer, which ended the whole process (or, caught, left the query and
// its reserved connection hanging forever). Upstream: porsager/postgres#1066, #1154, #1208 (fix proposed in #1209);
// postgres 3.4.9 is unpatched. Idempotent; fails the install when the source no longer looks as expected, so a new
// postgres version is looked at rather than silently left unpatched.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ORIGINAL = "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)";
const PATCHED = `  function nextWrite(fn) {
    if (!socket) { // servauth patch (porsager/postgres#1208): settle instead of throwing
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../node_modules/postgres");
for (const file of ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"]) {
  const full = path.join(root, file);
  const source = readFileSync(full, "utf8");
  if (source.includes(PATCHED)) continue;
  if (!source.includes(ORIGINAL)) throw new Error(`patch-postgres: ${full} has no unguarded nextWrite; check the upstream fix`);
  writeFileSync(full, source.replace(ORIGINAL, PATCHED));
}
