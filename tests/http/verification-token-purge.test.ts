import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerificationTokens } from "../../src/auth/verification-tokens.ts";
import { useMovableClock } from "../support/clock.ts";
import { createTestApp, type TestApp } from "../support/test-app.ts";

/** Tokens nobody uses (most reset and verification mails) are purged once expired, not kept one row per request. */
const clock = useMovableClock();

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("verification token purge", () => {
  it("deletes expired tokens only; a live one still works afterwards, an expired one never did", async () => {
    const tokens = createVerificationTokens(t.services.auth, t.db);
    const shortLived = await tokens.issue("cancel-deletion", "short", 60);
    const longLived = await tokens.issue("cancel-deletion", "long", 3600);
    expect(await tokens.purgeExpired()).toBe(0);
    clock.advance(61_000);
    expect(await tokens.purgeExpired()).toBe(1);
    expect(await tokens.consume("cancel-deletion", shortLived)).toBeNull();
    expect(await tokens.consume("cancel-deletion", longLived)).toBe("long");
  });
});
