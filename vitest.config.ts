import { defineConfig } from "vitest/config";

/**
 * Tiers (DESIGN.md section 7). The http suite runs on in-memory PGlite, and again on real PostgreSQL when
 * TEST_DATABASE_URL is set (each test file in a database of its own).
 */
const withPostgres = Boolean(process.env.TEST_DATABASE_URL);
const globalSetup = ["tests/support/global-setup.ts"];

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["tests/unit/**/*.test.ts"], globalSetup } },
      { test: { name: "http", include: ["tests/http/**/*.test.ts"], globalSetup, env: { SERVAUTH_TEST_DB: "pglite" } } },
      ...(withPostgres
        ? [
            {
              test: {
                name: "http-postgres",
                include: ["tests/http/**/*.test.ts", "tests/postgres/**/*.test.ts"],
                globalSetup,
                env: { SERVAUTH_TEST_DB: "postgres" },
              },
            },
          ]
        : []),
      { test: { name: "e2e", include: ["tests/e2e/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
});
