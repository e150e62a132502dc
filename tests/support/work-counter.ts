import { PGlite } from "@electric-sql/pglite";
import { vi } from "vitest";
import type { PasswordHasher } from "../../src/auth/password.ts";
import { fastHasher, type TestApp } from "./test-app.ts";

/**
 * Counting fakes for enumeration tests: what a request costs on its own time (password hashes and verifies,
 * mail-queue operations, database round trips on PGlite), so that two paths can be compared by the work they do
 * instead of by a stopwatch. Equal work leaves nothing to time.
 */
export type Work = { status: number; body: unknown; hash: number; verify: number; mailQueue: number; queries: number };

/** fastHasher that counts its calls; pass `hasher` to createTestApp and `counter` to measureWork. */
export function createCountingHasher() {
  const counts = { hash: 0, verify: 0 };
  const hasher: PasswordHasher = {
    hash: (password) => {
      counts.hash += 1;
      return fastHasher.hash(password);
    },
    verify: (passwordHash, password) => {
      counts.verify += 1;
      return fastHasher.verify(passwordHash, password);
    },
  };
  return { hasher, counts };
}

/**
 * The answer to `send` and the work done until it was given; whatever was queued runs to completion afterwards.
 * The answer's requestId differs on every call and is left out.
 */
export async function measureWork(t: TestApp, counts: { hash: number; verify: number }, send: () => Response | Promise<Response>): Promise<Work> {
  await t.services.mail.drain();
  Object.assign(counts, { hash: 0, verify: 0 });
  const spies = [
    vi.spyOn(t.services.mail, "enqueue"),
    vi.spyOn(t.services.mail, "compose"),
    vi.spyOn(PGlite.prototype, "query"),
    vi.spyOn(PGlite.prototype, "exec"),
    vi.spyOn(PGlite.prototype, "transaction"),
  ];
  try {
    const response = await send();
    const { requestId: _differsAlways, ...body } = (await response.json()) as Record<string, unknown>;
    const [enqueue, compose, query, exec, transaction] = spies.map((spy) => spy.mock.calls.length) as [number, number, number, number, number];
    return { status: response.status, body, hash: counts.hash, verify: counts.verify, mailQueue: enqueue + compose, queries: query + exec + transaction };
  } finally {
    for (const spy of spies) spy.mockRestore();
    await t.services.mail.drain();
  }
}
