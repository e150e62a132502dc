import { UnsupportedPathError } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/test-app.ts";

/**
 * Hono's SmartRouter serves with RegExpRouter (one regular expression per method) unless a path does not fit it,
 * and then quietly falls back to TrieRouter for every request, which costs 1.5-3 µs on each (docs/benchmarks.md).
 * What does not fit: a literal segment and a parameter at the same position among one method's paths, such as
 * GET /auth/oauth/providers beside GET /auth/oauth/{provider}/authorize. New routes must keep out of that shape.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

it("every route fits RegExpRouter", () => {
  const router = new RegExpRouter<string>();
  const unfit: string[] = [];
  for (const { method, path } of t.app.routes) {
    try {
      router.add(method, path, path);
    } catch (error) {
      if (!(error instanceof UnsupportedPathError)) throw error;
      unfit.push(`${method} ${path}`);
    }
  }
  expect(unfit).toEqual([]);
});

it("the app serves with RegExpRouter", async () => {
  await t.request("GET", "/health");
  expect(t.app.router.name).toBe("SmartRouter + RegExpRouter");
});
