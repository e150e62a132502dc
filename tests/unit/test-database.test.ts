import { count } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rateLimits } from "../../src/db/tables/rate-limits.ts";
import { openTestDatabase } from "../support/test-database.ts";

// The test support keeps a worker's PGlite between tests (tests/support/test-database.ts): what one test wrote must
// never reach the next, and an app that outlives its test must not write into the next one's database.
describe("openTestDatabase", () => {
  it("gives the next test an empty database, and refuses the previous holder", async () => {
    const first = await openTestDatabase();
    await first.handle.db.insert(rateLimits).values({ key: "left-behind", count: 1, resetAt: new Date() });
    await first.close();

    const second = await openTestDatabase();
    try {
      const [row] = await second.handle.db.select({ rows: count() }).from(rateLimits);
      expect(row?.rows).toBe(0);
      if (process.env.SERVAUTH_TEST_DB !== "postgres") {
        const late = await first.handle.ping().catch((error: unknown) => error);
        expect((late as Error).cause).toMatchObject({ message: expect.stringMatching(/given back/) });
      }
    } finally {
      await second.close();
    }
  });
});
