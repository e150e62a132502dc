import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, newAccount, type TestApp } from "../support/test-app.ts";
import { createCountingHasher, measureWork } from "../support/work-counter.ts";

/**
 * With REQUIRE_EMAIL_VERIFICATION nobody is signed in by registering, so no answer may tell whether an address
 * has an account: not its content, and not its timing. Timing is judged by the work done on the request's time,
 * counted with counting fakes (tests/support/work-counter.ts) rather than a stopwatch: equal work on both paths
 * leaves nothing to time.
 */
let t: TestApp;
const { hasher, counts } = createCountingHasher();
const workOf = (send: () => Response | Promise<Response>) => measureWork(t, counts, send);

beforeAll(async () => {
  t = await createTestApp({ REQUIRE_EMAIL_VERIFICATION: "true" }, { hasher });
});
afterAll(async () => {
  await t.close();
});

async function registered(): Promise<{ email: string; password: string }> {
  const account = newAccount();
  expect((await t.request("POST", "/auth/register", account)).status).toBe(202);
  await t.services.mail.drain();
  return account;
}

describe("with REQUIRE_EMAIL_VERIFICATION, a taken and a free address cost the same and answer the same", () => {
  it("registration", async () => {
    const owner = await registered();
    const taken = await workOf(() => t.request("POST", "/auth/register", { email: owner.email, password: "someone else's password" }));
    const free = await workOf(() => t.request("POST", "/auth/register", newAccount()));
    expect(taken).toEqual(free);
    expect(free.status).toBe(202);
  });

  it("a login with the password just registered: an attempt on a taken address looks like one that made an account", async () => {
    const owner = await registered();
    const attempt = { password: "the attacker's own password" };
    await t.request("POST", "/auth/register", { email: owner.email, ...attempt });
    const created = newAccount(attempt);
    await t.request("POST", "/auth/register", created);
    await t.services.mail.drain();

    const onTaken = await workOf(() => t.request("POST", "/auth/login", { email: owner.email, ...attempt }));
    const onCreated = await workOf(() => t.request("POST", "/auth/login", { email: created.email, ...attempt }));
    expect(onCreated).toEqual(onTaken);
    expect(onCreated).toMatchObject({ status: 401, body: { code: "INVALID_CREDENTIALS" } });
  });

  it.each(["/auth/resend-verification", "/auth/forgot-password"])("%s", async (path) => {
    const { email } = await registered();
    const known = await workOf(() => t.request("POST", path, { email }));
    const unknown = await workOf(() => t.request("POST", path, { email: newAccount().email }));
    expect(known).toEqual(unknown);
    expect(known).toMatchObject({ status: 202, body: {} });
  });

  // The account (and its username) is made after the answer, and only for a free address: a username given at
  // registration would be taken afterwards exactly when the address was free, which a second registration or a
  // profile change could then ask about.
  it("a username cannot be chosen at registration, only once the address is verified", async () => {
    const probe = `probe${Date.now().toString(36)}`;
    const work = await workOf(() => t.request("POST", "/auth/register", { ...newAccount(), username: probe }));
    expect(work).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED", errors: [{ path: "username" }] }, mailQueue: 0 });
    const ownAccount = newAccount();
    expect((await t.request("POST", "/auth/register", { ...ownAccount, username: probe })).status).toBe(400);
  });

  it("the queued work still happens: the new address gets its verification mail, the known one its mails", async () => {
    const { email } = await registered();
    const confirm = (to: string) => t.sentMail.filter((mail) => mail.to === to && mail.subject === "Confirm your email address").length;
    expect(confirm(email)).toBe(1);
    await t.request("POST", "/auth/resend-verification", { email });
    await t.request("POST", "/auth/forgot-password", { email });
    await t.services.mail.drain();
    expect(confirm(email)).toBe(2);
    expect(t.sentMail.some((mail) => mail.to === email && mail.subject.includes("eset"))).toBe(true);
  });
});
