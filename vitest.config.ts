import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

/**
 * Tiers (DESIGN.md section 7), one vitest project each:
 * - unit, http (in-memory PGlite): `npm test`, the fast path.
 * - http-postgres, http-redis: the http suite again on real PostgreSQL when TEST_DATABASE_URL is set (each test
 *   file in a database of its own), and with the revocation bus on Redis when TEST_REDIS_URL is set too. Also in
 *   `npm test`, since they need only those two variables.
 * - e2e (real servers over TCP): `npm run test:e2e`, with browser when that tier is present; e2e-node-alt re-runs
 *   the e2e files that start the server on Node, on the node binary named by TEST_NODE_BINARY (CI: Node 22).
 * `npm run test:all` runs every project.
 */
const withPostgres = Boolean(process.env.TEST_DATABASE_URL);
const withRedis = withPostgres && Boolean(process.env.TEST_REDIS_URL);
const alternateNode = process.env.TEST_NODE_BINARY;
const globalSetup = ["tests/support/global-setup.ts"];
/** Some http tests start an app of their own; on a loaded 2-core CI machine that takes seconds. */
const timeouts = { testTimeout: 20_000, hookTimeout: 30_000 };
/**
 * Each e2e test runs servers of its own (several processes, each with a PostgreSQL pool): one file at a time, and
 * only after the in-process tiers (sequence.groupOrder), so that their connections never add up beyond the
 * server's max_connections (100 by default) and they do not slow each other down.
 */
const e2eSettings = { testTimeout: 60_000, hookTimeout: 60_000, maxWorkers: 1, sequence: { groupOrder: 2 } };
/**
 * Several files of the PostgreSQL tiers at once ran the server out of connections (100 by default; some files start
 * several apps, each with a pool): one file at a time, as before two workers were used.
 */
const onePostgresFileAtATime = { maxWorkers: 1 };
/** The e2e files that start the server on either runtime (describe.each over e2eRuntimes()). */
const E2E_ON_BOTH_RUNTIMES = [
  "broken-requests",
  "client-address",
  "config-errors",
  "database-outage",
  "graphql",
  "mfa",
  "observability",
  "server",
  "shutdown",
  "slow-clients",
  "workers",
].map((name) => `tests/e2e/${name}.test.ts`);

/**
 * The http files that answer for the embedded database as the server runs it, in a worker thread (the http project
 * runs PGlite on the test's own thread): sign-in, registration, sessions, rotation, audit paging, an outage, the vacuum.
 * tests/http/pglite-worker.test.ts (in the http project) covers what only the worker has.
 */
const HTTP_ON_PGLITE_WORKER = ["login", "register", "sessions", "refresh-rotation", "audit-log", "operations", "embedded-vacuum"].map(
  (name) => `tests/http/${name}.test.ts`,
);

export default defineConfig({
  test: {
    // vitest's default (cores - 1) leaves one of two cores idle; the tests are CPU-bound (PGlite, argon2).
    maxWorkers: Math.max(availableParallelism(), 2),
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"], globalSetup, isolate: false, ...timeouts } },
      { test: { name: "http", include: ["tests/http/**/*.test.ts"], globalSetup, isolate: false, ...timeouts, env: { SERVAUTH_TEST_DB: "pglite" } } },
      {
        test: {
          name: "http-pglite-worker",
          include: HTTP_ON_PGLITE_WORKER,
          globalSetup,
          isolate: false,
          ...timeouts,
          env: { SERVAUTH_TEST_DB: "pglite-worker" },
        },
      },
      ...(withPostgres
        ? [
            {
              test: {
                name: "http-postgres",
                include: ["tests/http/**/*.test.ts", "tests/postgres/**/*.test.ts"],
                globalSetup,
                ...timeouts,
                ...onePostgresFileAtATime,
                env: { SERVAUTH_TEST_DB: "postgres" },
              },
            },
          ]
        : []),
      // Revocations over Redis pub/sub instead of LISTEN/NOTIFY.
      ...(withRedis
        ? [
            {
              test: {
                name: "http-redis",
                include: ["tests/http/**/*.test.ts"],
                globalSetup,
                ...timeouts,
                ...onePostgresFileAtATime,
                // After http-postgres, not beside it (see onePostgresFileAtATime).
                sequence: { groupOrder: 1 },
                env: { SERVAUTH_TEST_DB: "postgres", SERVAUTH_TEST_REDIS: "1" },
              },
            },
          ]
        : []),
      { test: { name: "e2e", include: ["tests/e2e/**/*.test.ts"], ...e2eSettings } },
      ...(alternateNode
        ? [
            {
              test: {
                name: "e2e-node-alt",
                include: E2E_ON_BOTH_RUNTIMES,
                ...e2eSettings,
                // After e2e, not beside it: both start servers on PostgreSQL.
                sequence: { groupOrder: 3 },
                env: { SERVAUTH_TEST_NODE: alternateNode, SERVAUTH_TEST_RUNTIMES: "node" },
              },
            },
          ]
        : []),
      // Headless Chromium against a spawned server; skipped where /usr/bin/chromium is missing (.ci/run installs it).
      { test: { name: "browser", include: ["tests/browser/**/*.test.ts"], ...e2eSettings, testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
