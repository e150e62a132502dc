import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refreshTokens, sessions } from "../../src/db/tables/sessions.ts";
import type { RevocationEvent } from "../../src/sessions/revocation-bus.ts";
import { hashOpaqueToken } from "../../src/tokens/opaque-token.ts";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** The session service's create is one statement (src/sessions/insert-session.ts): the cap must hold as before. */
const CAP = 3;
const client = { ipAddress: "192.0.2.1", userAgent: "session-create-test" };

let t: TestApp;
const published: string[] = [];
beforeAll(async () => {
  t = await createTestApp({ MAX_SESSIONS_PER_USER: String(CAP) });
  t.services.bus.subscribe((event: RevocationEvent) => {
    if (event.kind === "session") published.push(event.sessionId);
  });
});
afterAll(async () => {
  await t.close();
});

const sessionIdsOf = async (userId: string) =>
  (await t.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId))).map((row) => row.id).sort();

describe("session create", () => {
  it("stores the session and its refresh token, both hashed, and returns the session", async () => {
    const { user } = await registerUser(t);
    const issued = await t.services.sessions.create(user.id, client, ["pwd"]);
    expect(issued.session.userId).toBe(user.id);
    expect(issued.session.createdAt).toBeInstanceOf(Date);
    expect(issued.session.expiresAt.getTime()).toBeGreaterThan(issued.session.createdAt.getTime());
    const [stored] = await t.db.select().from(sessions).where(eq(sessions.id, issued.session.id));
    expect(stored).toMatchObject({ tokenHash: hashOpaqueToken(issued.sessionToken), ...client, lastActiveAt: issued.session.createdAt });
    const [refresh] = await t.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashOpaqueToken(issued.refreshToken)));
    expect(refresh).toMatchObject({ sessionId: issued.session.id, expiresAt: issued.session.expiresAt, replacedAt: null });
  });

  it("evicts the oldest sessions beyond the cap, returns and publishes their ids, and drops their refresh tokens", async () => {
    const { user } = await registerUser(t); // the registration's session is the oldest
    const [registration] = await sessionIdsOf(user.id);
    const created = [];
    for (let i = 0; i < CAP + 1; i++) created.push(await t.services.sessions.create(user.id, client, ["pwd"]));
    // The registration's and the first create's sessions went, one per create over the cap, oldest first.
    expect(created.map((issued) => issued.evictedSessionIds)).toEqual([[], [], [registration], [created[0]!.session.id]]);
    expect(published).toEqual(expect.arrayContaining([registration, created[0]!.session.id]));
    expect(await sessionIdsOf(user.id)).toEqual(created.slice(1).map((issued) => issued.session.id).sort());
    const evictedTokens = await t.db.select().from(refreshTokens).where(inArray(refreshTokens.sessionId, [registration!, created[0]!.session.id]));
    expect(evictedTokens).toEqual([]);
  });

  it("keeps the cap under concurrent logins: all succeed, each eviction is reported once, one more login settles the cap", async () => {
    const { user } = await registerUser(t);
    const issued = await Promise.all(Array.from({ length: 20 }, () => t.services.sessions.create(user.id, client, ["pwd"])));
    const evicted = issued.flatMap((one) => one.evictedSessionIds);
    expect(new Set(evicted).size).toBe(evicted.length);
    const remaining = await sessionIdsOf(user.id);
    expect(remaining.filter((id) => evicted.includes(id))).toEqual([]);
    // Concurrent statements do not see each other's new rows, so the count may briefly exceed the cap, never fall below.
    expect(remaining.length).toBeGreaterThanOrEqual(CAP);
    const last = await t.services.sessions.create(user.id, client, ["pwd"]);
    expect((await sessionIdsOf(user.id)).length).toBe(CAP);
    expect((await sessionIdsOf(user.id)).includes(last.session.id)).toBe(true);
  });
});
