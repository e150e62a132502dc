import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** sessions.listForUsers: what the GraphQL users listing batches its users' sessions through. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

it("lists each user's live sessions (most recently active first), [] for a user with none, nothing for no users", async () => {
  const ann = await registerUser(t);
  const bob = await registerUser(t);
  await t.request("POST", "/auth/login", { email: ann.account.email, password: ann.account.password });
  await t.request("POST", "/auth/logout", undefined, { authorization: `Bearer ${bob.accessToken}` });
  const nobody = randomUUID();

  const byUser = await t.services.sessions.listForUsers([ann.user.id, bob.user.id, nobody]);
  expect([...byUser.keys()]).toEqual([ann.user.id, bob.user.id, nobody]);
  const annSessions = byUser.get(ann.user.id) ?? [];
  expect(annSessions.map((session) => session.id)).toEqual((await t.services.sessions.list(ann.user.id)).map((session) => session.id));
  expect(annSessions).toHaveLength(2);
  expect(annSessions.every((session) => session.userId === ann.user.id)).toBe(true);
  expect(byUser.get(bob.user.id)).toEqual([]);
  expect(byUser.get(nobody)).toEqual([]);
  expect((await t.services.sessions.listForUsers([])).size).toBe(0);
});
