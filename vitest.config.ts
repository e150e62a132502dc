import { defineConfig } from "vitest/config";

/**
 * Tiers (DESIGN.md section 7). The http suite runs on in-memory PGlite, again on real PostgreSQL when
 * TEST_DATABASE_URL is set (each test file in a database of its own), and again with the revocation bus on
 * Redis when TEST_REDIS_URL is set too.
 */
const withPostgres = Boolean(process.env.TEST_DATABASE_URL);
const withRedis = withPostgres && Boolean(process.env.TEST_REDIS_URL);
const globalSetup = ["tests/support/global-setup.ts"];
/** Some http tests start an app of their own; on a loaded 2-core CI machine that takes seconds. */
const timeouts = { testTimeout: 20_000, hookTimeout: 30_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"], globalSetup } },
      { test: { name: "http", include: ["tests/http/**/*.test.ts"], globalSetup, ...timeouts, env: { SERVAUTH_TEST_DB: "pglite" } } },
      ...(withPostgres
        ? [
            {
              test: {
                name: "http-postgres",
                include: ["tests/http/**/*.test.ts", "tests/postgres/**/*.test.ts"],
                globalSetup,
                ...timeouts,
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
                env: { SERVAUTH_TEST_DB: "postgres", SERVAUTH_TEST_REDIS: "1" },
              },
            },
          ]
        : []),
      { test: { name: "e2e", include: ["tests/e2e/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
});
