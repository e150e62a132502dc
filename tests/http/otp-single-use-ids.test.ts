import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseSingleUseIds, type SingleUseIds } from "../../src/otp/single-use-ids.ts";
import { createRedisSingleUseIds } from "../../src/otp/single-use-ids-redis.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";

/** The stores of challenge ids: the database (PGlite here, PostgreSQL in the postgres tiers) and Redis when TEST_REDIS_URL is set. */
let database: TestDatabase;
const redisUrl = process.env.TEST_REDIS_URL;
const stores: Array<[string, () => SingleUseIds]> = [
  [`database (${process.env.SERVAUTH_TEST_DB ?? "pglite"})`, () => createDatabaseSingleUseIds(database.handle.db)],
  ...(redisUrl ? [["redis", () => createRedisSingleUseIds(redisUrl)] as [string, () => SingleUseIds]] : []),
];

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database.close();
});

const newId = () => randomBytes(16).toString("base64url");
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000);

describe.each(stores)("the %s single-use id store", (_name, create) => {
  let ids: SingleUseIds;
  beforeAll(() => {
    ids = create();
  });
  afterAll(async () => {
    await ids.close();
  });

  it("consumes an issued id exactly once among 100 concurrent attempts", async () => {
    const id = newId();
    await ids.issue(id, inSeconds(60));
    const results = await Promise.all(Array.from({ length: 100 }, () => ids.consume(id)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await ids.consume(id)).toBe(false);
  });

  it("never consumes an id it did not issue, nor an expired one", async () => {
    expect(await ids.consume(newId())).toBe(false);
    const id = newId();
    await ids.issue(id, new Date(Date.now() + 150));
    await new Promise((resolve) => setTimeout(resolve, 250));
    await ids.purgeExpired();
    expect(await ids.consume(id)).toBe(false);
  });
});

describe("the Redis store, unreachable", () => {
  it("fails closed: DEPENDENCY_UNAVAILABLE", async () => {
    const ids = createRedisSingleUseIds("redis://127.0.0.1:1");
    try {
      await expect(ids.consume(newId())).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
    } finally {
      await ids.close();
    }
  });
});
