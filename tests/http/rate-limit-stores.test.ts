import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLimiter } from "../../src/abuse/limiter.ts";
import { createMemoryRateLimitStore, type RateLimitStore } from "../../src/abuse/rate-limit-store.ts";
import { createPostgresRateLimitStore } from "../../src/abuse/rate-limit-store-postgres.ts";
import { createRedisRateLimitStore } from "../../src/abuse/rate-limit-store-redis.ts";
import { DEFAULT_RULES } from "../../src/abuse/rules.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";

let database: TestDatabase;
const stores: Array<[string, () => RateLimitStore]> = [
  ["memory", () => createMemoryRateLimitStore()],
  // PGlite in the http tier, a real PostgreSQL server in the postgres tiers.
  [`postgres (${process.env.SERVAUTH_TEST_DB ?? "pglite"})`, () => createPostgresRateLimitStore(database.handle.db)],
  ...(process.env.TEST_REDIS_URL ? [["redis", () => createRedisRateLimitStore(process.env.TEST_REDIS_URL ?? "")] as [string, () => RateLimitStore]] : []),
];

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database.close();
});

describe.each(stores)("the %s rate-limit store", (_name, create) => {
  let store: RateLimitStore;
  beforeAll(() => {
    store = create();
  });
  afterAll(async () => {
    await store.close();
  });

  it("lets exactly 10 of 200 concurrent hits through a limit of 10", async () => {
    const limiter = createLimiter(store, { ...DEFAULT_RULES, registerIp: { max: 10, windowSeconds: 60 } }, createLogger({ level: "silent" }));
    const subject = randomUUID();
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, () => limiter.consume("registerIp", subject)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(10);
    const refused = outcomes.filter((o) => o.status === "rejected");
    expect(refused).toHaveLength(190);
    expect(refused.every((o) => (o.reason as { code?: string }).code === "RATE_LIMITED")).toBe(true);
  });

  it("counts each hit once, peeks without counting, and resets", async () => {
    const key = `test:${randomUUID()}`;
    const counts = (await Promise.all(Array.from({ length: 5 }, () => store.hit(key, 60_000)))).map((w) => w.count).sort();
    expect(counts).toEqual([1, 2, 3, 4, 5]);
    expect(await store.peek(key)).toBe(5);
    expect(await store.peek(key)).toBe(5);
    await store.reset(key);
    expect(await store.peek(key)).toBe(0);
    expect((await store.hit(key, 60_000)).count).toBe(1);
  });

  it("adds a hit's weight, restarts a finished window at it, and refuses the weighted hit that crosses the limit", async () => {
    const key = `test:${randomUUID()}`;
    expect((await store.hit(key, 60_000, 40)).count).toBe(40);
    expect((await store.hit(key, 60_000, 2)).count).toBe(42);
    expect(await store.peek(key)).toBe(42);
    const limiter = createLimiter(store, { ...DEFAULT_RULES, graphqlCostSession: { max: 100, windowSeconds: 60 } }, createLogger({ level: "silent" }));
    const subject = randomUUID();
    expect(await limiter.consume("graphqlCostSession", subject, 60)).toMatchObject({ remaining: 40 });
    await expect(limiter.consume("graphqlCostSession", subject, 41)).rejects.toMatchObject({ code: "RATE_LIMITED", cause: { firstInWindow: true } });
    await expect(limiter.consume("graphqlCostSession", subject, 1)).rejects.toMatchObject({ cause: { firstInWindow: false } });
  });

  it("gives hits back one at a time, concurrently too, never below zero and never for a missing key", async () => {
    const key = `test:${randomUUID()}`;
    await Promise.all(Array.from({ length: 5 }, () => store.hit(key, 60_000)));
    await Promise.all(Array.from({ length: 3 }, () => store.decrement(key)));
    expect(await store.peek(key)).toBe(2);
    await Promise.all(Array.from({ length: 4 }, () => store.decrement(key)));
    expect(await store.peek(key)).toBe(0);
    expect((await store.hit(key, 60_000)).count).toBe(1);
    const missing = `test:${randomUUID()}`;
    await store.decrement(missing);
    expect(await store.peek(missing)).toBe(0);
    expect((await store.hit(missing, 60_000)).count).toBe(1);
  });

  it("a refund lets one more hit through the limiter, as if the refunded one had not been counted", async () => {
    const limiter = createLimiter(store, { ...DEFAULT_RULES, mfaAccount: { max: 2, windowSeconds: 60 } }, createLogger({ level: "silent" }));
    const subject = randomUUID();
    await limiter.consume("mfaAccount", subject);
    await limiter.consume("mfaAccount", subject);
    await limiter.refund("mfaAccount", subject);
    await limiter.consume("mfaAccount", subject);
    await expect(limiter.consume("mfaAccount", subject)).rejects.toMatchObject({ code: "RATE_LIMITED" });
  });

  it("runs hits and peeks in order, and none after the first step past its limit", async () => {
    const [address, stuffing, account] = [randomUUID(), randomUUID(), randomUUID()].map((id) => `test:${id}`) as [string, string, string];
    const steps = [
      { key: address, windowMs: 60_000, max: 2 },
      { key: stuffing, windowMs: 60_000, max: 1, peek: true },
      { key: account, windowMs: 60_000, max: 5 },
    ];
    const before = Date.now();
    const first = await store.hitInOrder(steps);
    expect(first.map((step) => step.count)).toEqual([1, 0, 1]);
    expect(first[1]?.resetAt).toBeNull();
    for (const hit of [first[0], first[2]]) {
      expect(hit?.resetAt).toBeGreaterThan(before + 59_000);
      expect(hit?.resetAt).toBeLessThanOrEqual(Date.now() + 60_000);
    }
    expect((await store.hitInOrder(steps)).map((step) => step.count)).toEqual([2, 0, 2]);
    // The address's third hit is past its limit: counted (as any hit is), and nothing after it runs.
    expect((await store.hitInOrder(steps)).map((step) => step.count)).toEqual([3]);
    expect(await store.peek(account)).toBe(2);

    // A peek at its limit ends the sequence the same way, and is not counted itself.
    const elsewhere = `test:${randomUUID()}`;
    await store.hit(stuffing, 60_000);
    const stopped = await store.hitInOrder([{ ...steps[0]!, key: elsewhere }, steps[1]!, steps[2]!]);
    expect(stopped.map((step) => step.count)).toEqual([1, 1]);
    expect(stopped[1]?.resetAt).toBeGreaterThan(Date.now());
    expect(await store.peek(stuffing)).toBe(1);
    expect(await store.peek(account)).toBe(2);
  });

  it("lets exactly the limit of 200 concurrent sequences through their last step", async () => {
    const account = `test:${randomUUID()}`;
    const sequences = await Promise.all(
      Array.from({ length: 200 }, () => store.hitInOrder([{ key: `test:${randomUUID()}`, windowMs: 60_000, max: 1 }, { key: account, windowMs: 60_000, max: 10 }])),
    );
    const counts = sequences.map((seen) => seen[1]?.count ?? 0).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(counts.filter((count) => count <= 10)).toHaveLength(10);
  });

  it("limiter.consumeInOrder refuses with the first rule past its limit, whose attempt the rules after it do not count", async () => {
    const rules = { ...DEFAULT_RULES, loginIp: { max: 2, windowSeconds: 60 }, stuffingIp: { max: 20, windowSeconds: 60 }, loginAccount: { max: 5, windowSeconds: 60 } };
    const limiter = createLimiter(store, rules, createLogger({ level: "silent" }));
    const email = `${randomUUID()}@example.com`;
    const attempt = (address: string) => limiter.consumeInOrder([
      { name: "loginIp", subject: address },
      { name: "stuffingIp", subject: address, peek: true },
      { name: "loginAccount", subject: email },
    ]);
    const address = randomUUID();
    const states = await attempt(address);
    expect(states.map(({ name, state }) => [name, state.remaining])).toEqual([["loginIp", 1], ["loginAccount", 4]]);
    await attempt(address);
    await expect(attempt(address)).rejects.toMatchObject({ code: "RATE_LIMITED", cause: { rule: "loginIp", firstInWindow: true } });
    // The refused attempt did not count towards the account: from another address it has had two, not three.
    expect((await attempt(randomUUID())).find(({ name }) => name === "loginAccount")?.state.remaining).toBe(2);
    // Rules that are off take no part.
    const withoutStuffing = createLimiter(store, { ...rules, stuffingIp: null }, createLogger({ level: "silent" }));
    expect((await withoutStuffing.consumeInOrder([{ name: "stuffingIp", subject: address, peek: true }, { name: "loginAccount", subject: email }])).map(({ name }) => name)).toEqual(["loginAccount"]);
  });

  it("limiter.consumeInOrder fails closed when the store stops before the end with no step past its limit", async () => {
    const cutShort: RateLimitStore = { ...store, hitInOrder: async (steps) => (await store.hitInOrder(steps)).slice(0, 1) };
    const limiter = createLimiter(cutShort, DEFAULT_RULES, createLogger({ level: "silent" }));
    const attempt = [
      { name: "loginIp", subject: randomUUID() },
      { name: "loginAccount", subject: `${randomUUID()}@example.com` },
    ] as const;
    await expect(limiter.consumeInOrder(attempt)).rejects.toMatchObject({ code: "DEPENDENCY_UNAVAILABLE" });
  });

  it("starts a new window when the old one is over", async () => {
    const key = `test:${randomUUID()}`;
    const first = await store.hit(key, 300);
    expect(first.resetAt).toBeGreaterThan(Date.now());
    await store.hit(key, 300);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.peek(key)).toBe(0);
    expect((await store.hit(key, 300)).count).toBe(1);
  });
});
