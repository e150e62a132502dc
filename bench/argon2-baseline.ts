/**
 * Bare argon2id verify rate: @node-rs/argon2 with the OWASP parameters the server uses (m=19456 KiB, t=2, p=1),
 * `concurrency` verifies kept in flight at once (as a server with that many login requests in flight would),
 * for `seconds`. Prints one JSON line: {"verifiesPerSecond": ..., ...}.
 *
 *   bun bench/argon2-baseline.ts [concurrency=16] [seconds=8]
 */
import { type Algorithm, hash, verify } from "@node-rs/argon2";

const concurrency = Number(process.argv[2] ?? 16);
const seconds = Number(process.argv[3] ?? 8);
const options = { memoryCost: 19_456, timeCost: 2, parallelism: 1, algorithm: 2 as Algorithm /* Argon2id */ };
const password = "correct horse battery staple";

const stored = await hash(password, options);
// Warm-up: first calls allocate the thread pool's memory.
await Promise.all(Array.from({ length: concurrency }, () => verify(stored, password, options)));

let done = 0;
const startedAt = performance.now();
const deadline = startedAt + seconds * 1000;
async function worker() {
  while (performance.now() < deadline) {
    if (!(await verify(stored, password, options))) throw new Error("argon2 verify returned false");
    done += 1;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = (performance.now() - startedAt) / 1000;
console.log(JSON.stringify({ verifiesPerSecond: done / elapsed, verifies: done, seconds: elapsed, concurrency }));
