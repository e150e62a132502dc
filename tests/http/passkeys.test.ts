import { and, eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts } from "../../src/db/tables/accounts.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { passkeys, webauthnUserHandles } from "../../src/db/tables/passkeys.ts";
import { useMovableClock } from "../support/clock.ts";
import { auditTypes, subjectsTo } from "../support/mfa.ts";
import { addPasskey, loginOptions, newAuthenticator, type PasskeyJson, passkeyLogin, problemOf, registerPasskey, registrationOptions } from "../support/passkeys.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * Passkeys over HTTP with a software authenticator (tests/support/soft-authenticator.ts): registration, the
 * passwordless sign-in, the caller's own list, and every check an attacker's response must fail.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** clientDataJSON that parses but names no challenge we could have handed out. */
const NO_CHALLENGE = ["{}", '{"challenge":1}', '{"challenge":{"a":1}}', '"x"', "null", JSON.stringify({ type: "webauthn.get", challenge: "x".repeat(200) })];

/** An assertion over `clientData`, naming `credentialId`, that nothing signed. */
const junkAssertion = (clientData: string, credentialId = "AAAA") => ({
  id: credentialId,
  rawId: credentialId,
  type: "public-key",
  clientExtensionResults: {},
  response: { clientDataJSON: b64(clientData), authenticatorData: "AAAA", signature: "AAAA" },
});

const refusalsOf = async (userId: string) =>
  (await t.db.select({ payload: auditEvents.payload }).from(auditEvents).where(and(eq(auditEvents.userId, userId), eq(auditEvents.type, "passkey.refused")))).map(
    (row) => (row.payload as { reason: string }).reason,
  );

describe("registration", () => {
  it("offers a discoverable, user-verified credential, excluding the user's own, under a random user handle", async () => {
    const { user, accessToken } = await registerUser(t);
    const authenticator = newAuthenticator();
    const first = await registrationOptions(t, accessToken);
    expect(first.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    expect(first.attestation).toBe("none");
    expect(first.excludeCredentials).toEqual([]);
    expect(first.rp.id).toBe("localhost");
    const [handle] = await t.db.select().from(webauthnUserHandles).where(eq(webauthnUserHandles.userId, user.id));
    expect(first.user.id).toBe(handle?.handle);
    expect(Buffer.from(first.user.id, "base64url").toString()).not.toContain(user.id);
    expect(Buffer.from(first.user.id, "base64url")).toHaveLength(32);

    const passkey = await addPasskey(t, accessToken, authenticator, { name: "Laptop" });
    const second = await registrationOptions(t, accessToken);
    expect(second.user.id).toBe(first.user.id);
    expect(second.excludeCredentials.map((entry) => entry.id)).toEqual([authenticator.credentials[0]?.id.toString("base64url")]);
    expect(passkey).toMatchObject({ name: "Laptop", lastUsedAt: null, backedUp: false, deviceType: "singleDevice", transports: ["internal"] });
  });

  it("is audited and mailed to the owner", async () => {
    const { user, accessToken, account } = await registerUser(t);
    await addPasskey(t, accessToken, newAuthenticator());
    expect(await auditTypes(t, user.id)).toContain("passkey.added");
    expect(await subjectsTo(t, account.email)).toContain("A passkey was added to your account");
  });

  it("needs a signed-in, recently authenticated session", async () => {
    expect((await t.request("POST", "/auth/passkeys/register/options", {})).status).toBe(401);
    const { accessToken } = await registerUser(t);
    const clock = useMovableClock();
    clock.advance(10 * 60_000);
    expect(await problemOf(await t.request("POST", "/auth/passkeys/register/options", {}, bearer(accessToken)))).toEqual({ status: 401, code: "STEP_UP_REQUIRED" });
  });

  it.each([
    ["another origin", { origin: "https://evil.example" }],
    ["another RP ID", { rpId: "evil.example" }],
    ["no user verification", { userVerified: false }],
  ])("refuses a credential made for %s", async (_case, tamper) => {
    const { user, accessToken } = await registerUser(t);
    expect(await problemOf(await registerPasskey(t, accessToken, newAuthenticator(), tamper))).toEqual({ status: 400, code: "WEBAUTHN_VERIFICATION_FAILED" });
    expect(await t.db.select().from(passkeys).where(eq(passkeys.userId, user.id))).toEqual([]);
    expect(await refusalsOf(user.id)).toHaveLength(1);
  });

  it("refuses a challenge handed out to another user, a used one, and a sign-in's", async () => {
    const ann = await registerUser(t);
    const bob = await registerUser(t);
    const authenticator = newAuthenticator();
    const forAnn = authenticator.create(await registrationOptions(t, ann.accessToken));
    const asBob = await t.request("POST", "/auth/passkeys/register/verify", { response: forAnn.response }, bearer(bob.accessToken));
    expect(await problemOf(asBob)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
    // Presented to the wrong flow, it is spent: Ann cannot use it either.
    const asAnn = await t.request("POST", "/auth/passkeys/register/verify", { response: forAnn.response }, bearer(ann.accessToken));
    expect(await problemOf(asAnn)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });

    const loginChallenge = await loginOptions(t);
    const options = await registrationOptions(t, ann.accessToken);
    const { response } = authenticator.create({ ...options, challenge: loginChallenge.challenge });
    expect(await problemOf(await t.request("POST", "/auth/passkeys/register/verify", { response }, bearer(ann.accessToken)))).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
  });

  it("refuses a credential id that is registered already, to anyone", async () => {
    const ann = await registerUser(t);
    const bob = await registerUser(t);
    const authenticator = newAuthenticator();
    const { response } = authenticator.create(await registrationOptions(t, ann.accessToken));
    expect((await t.request("POST", "/auth/passkeys/register/verify", { response }, bearer(ann.accessToken))).status).toBe(201);
    // Bob's authenticator claims Ann's credential id, over a challenge of his own.
    const claimed = authenticator.create(await registrationOptions(t, bob.accessToken), { credentialId: Buffer.from(response.id, "base64url") });
    const answer = await t.request("POST", "/auth/passkeys/register/verify", { response: claimed.response }, bearer(bob.accessToken));
    expect(await problemOf(answer)).toEqual({ status: 400, code: "WEBAUTHN_VERIFICATION_FAILED" });
    expect(await t.db.select().from(passkeys).where(eq(passkeys.userId, bob.user.id))).toEqual([]);
  });

  it("answers a malformed response with 400, never 500", async () => {
    const { accessToken } = await registerUser(t);
    await registrationOptions(t, accessToken);
    const bodies = [
      { response: { id: "x", rawId: "x", type: "public-key", response: { clientDataJSON: "bm90IGpzb24", attestationObject: "AAAA" } } },
      { response: { id: "x", rawId: "x", type: "public-key", response: { clientDataJSON: "%%%", attestationObject: "AAAA" } } },
      { response: "nope" },
    ];
    for (const body of bodies) expect((await t.request("POST", "/auth/passkeys/register/verify", body, bearer(accessToken))).status).toBe(400);
  });

  it.each(NO_CHALLENGE)("refuses a clientDataJSON whose challenge is not a challenge (%s) with 400, audited, never 500", async (clientData) => {
    const { accessToken, user } = await registerUser(t);
    await registrationOptions(t, accessToken);
    const body = { response: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: b64(clientData), attestationObject: "AAAA" } } };
    const answer = await t.request("POST", "/auth/passkeys/register/verify", body, bearer(accessToken));
    expect(await problemOf(answer)).toEqual({ status: 400, code: "WEBAUTHN_VERIFICATION_FAILED" });
    expect(await refusalsOf(user.id)).toEqual(["unreadable clientDataJSON"]);
  });

  it.each([
    ["that differs from the credential id in authenticatorData", 64, 16],
    ["longer than 1023 bytes (the client naming the same)", 1024, 1024],
    ["longer than a database index row takes, named short by the client", 12_000, 64],
  ])("refuses a credential id %s, audited, never 500", async (_case, idBytes, namedChars) => {
    const { accessToken, user } = await registerUser(t);
    const { response } = newAuthenticator().create(await registrationOptions(t, accessToken), { credentialId: randomBytes(idBytes) });
    const named = response.id.slice(0, namedChars);
    const answer = await t.request("POST", "/auth/passkeys/register/verify", { response: { ...response, id: named, rawId: named } }, bearer(accessToken));
    expect(await problemOf(answer)).toEqual({ status: 400, code: "WEBAUTHN_VERIFICATION_FAILED" });
    expect(await t.db.select().from(passkeys).where(eq(passkeys.userId, user.id))).toEqual([]);
  });

  it("accepts a credential id of 1023 bytes, WebAuthn's maximum", async () => {
    const { accessToken } = await registerUser(t);
    const { response } = newAuthenticator().create(await registrationOptions(t, accessToken), { credentialId: randomBytes(1023) });
    expect((await t.request("POST", "/auth/passkeys/register/verify", { response }, bearer(accessToken))).status).toBe(201);
  });
});

describe("passwordless sign-in", () => {
  async function withPasskey(tamper: { synced?: boolean } = {}) {
    const registered = await registerUser(t);
    const authenticator = newAuthenticator();
    const passkey = await addPasskey(t, registered.accessToken, authenticator, tamper);
    return { ...registered, authenticator, passkey };
  }

  it("offers any discoverable credential with user verification required", async () => {
    const options = await loginOptions(t);
    expect(options).toMatchObject({ rpId: "localhost", allowCredentials: [], userVerification: "required" });
    expect(Buffer.from(options.challenge, "base64url")).toHaveLength(32);
  });

  it("signs in without an email: the normal answer, amr [hwk, user, mfa], aal 2, audited, lastUsedAt set", async () => {
    const { user, authenticator, passkey } = await withPasskey();
    const answer = await passkeyLogin(t, authenticator);
    expect(answer.status, await answer.clone().text()).toBe(200);
    const body = (await answer.json()) as { user: { id: string }; accessToken: string; refreshToken: string };
    expect(body.user.id).toBe(user.id);
    expect(answer.headers.getSetCookie().join(";")).toContain("HttpOnly");
    expect(decodeJwt(body.accessToken)).toMatchObject({ sub: user.id, amr: ["hwk", "user", "mfa"], acr: "aal2" });
    const me = (await (await t.request("GET", "/auth/me", undefined, bearer(body.accessToken))).json()) as { session: { amr: string[]; aal: number } };
    expect(me.session).toMatchObject({ amr: ["hwk", "user", "mfa"], aal: 2 });
    expect(await auditTypes(t, user.id)).toEqual(expect.arrayContaining(["passkey.signed_in", "login.succeeded"]));
    const listed = (await (await t.request("GET", "/auth/passkeys", undefined, bearer(body.accessToken))).json()) as { passkeys: PasskeyJson[] };
    expect(listed.passkeys.find((entry) => entry.id === passkey.id)?.lastUsedAt).not.toBeNull();
  });

  it("a synced passkey (backed up, counter always 0) signs in again and again as swk", async () => {
    const { authenticator, passkey } = await withPasskey({ synced: true });
    expect(passkey).toMatchObject({ backedUp: true, deviceType: "multiDevice" });
    for (let i = 0; i < 3; i += 1) {
      const answer = await passkeyLogin(t, authenticator);
      expect(answer.status).toBe(200);
      expect(decodeJwt(((await answer.json()) as { accessToken: string }).accessToken).amr).toEqual(["swk", "user", "mfa"]);
    }
  });

  it("refuses a replayed assertion: its challenge is spent", async () => {
    const { authenticator } = await withPasskey();
    const response = authenticator.get(await loginOptions(t));
    expect((await t.request("POST", "/auth/passkeys/login/verify", { response })).status).toBe(200);
    expect(await problemOf(await t.request("POST", "/auth/passkeys/login/verify", { response }))).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
  });

  it("refuses a counter that does not move on a credential that counts (a cloned key), and audits it", async () => {
    const { user, authenticator } = await withPasskey();
    expect((await passkeyLogin(t, authenticator)).status).toBe(200);
    expect(await problemOf(await passkeyLogin(t, authenticator, { keepCounter: true }))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });
    expect((await refusalsOf(user.id)).some((reason) => reason.startsWith("counter"))).toBe(true);
    expect((await passkeyLogin(t, authenticator)).status).toBe(200);
  });

  it("with WEBAUTHN_STRICT_COUNTER=false a counter that does not move is accepted", async () => {
    const lax = await createTestApp({ WEBAUTHN_STRICT_COUNTER: "false" });
    try {
      const { accessToken } = await registerUser(lax);
      const authenticator = newAuthenticator();
      await addPasskey(lax, accessToken, authenticator);
      expect((await passkeyLogin(lax, authenticator)).status).toBe(200);
      expect((await passkeyLogin(lax, authenticator, { keepCounter: true })).status).toBe(200);
    } finally {
      await lax.close();
    }
  });

  it.each([
    ["another origin", { origin: "https://evil.example" }],
    ["an origin that is only similar", { origin: "http://localhost:3001" }],
    ["another RP ID", { rpId: "evil.example" }],
    ["no user verification", { userVerified: false }],
  ])("refuses an assertion from %s with INVALID_CREDENTIALS, audited", async (_case, tamper) => {
    const { user, authenticator } = await withPasskey();
    expect(await problemOf(await passkeyLogin(t, authenticator, tamper))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });
    expect(await refusalsOf(user.id)).toHaveLength(1);
  });

  it("refuses an unknown credential and a bad signature alike", async () => {
    const stranger = newAuthenticator();
    stranger.create({ challenge: "x", rp: { id: "localhost" }, user: { id: "AAAA" } });
    expect(await problemOf(await passkeyLogin(t, stranger))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });

    const { authenticator } = await withPasskey();
    const response = authenticator.get(await loginOptions(t));
    const forged = { ...response, response: { ...response.response, signature: Buffer.from("forged").toString("base64url") } };
    expect(await problemOf(await t.request("POST", "/auth/passkeys/login/verify", { response: forged }))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });
  });

  it("refuses a user handle that is not the credential owner's", async () => {
    const { authenticator } = await withPasskey();
    const response = authenticator.get(await loginOptions(t));
    const swapped = { ...response, response: { ...response.response, userHandle: Buffer.alloc(32, 1).toString("base64url") } };
    expect(await problemOf(await t.request("POST", "/auth/passkeys/login/verify", { response: swapped }))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });
  });

  it("refuses a deleted passkey's credential", async () => {
    const { accessToken, authenticator, passkey } = await withPasskey();
    expect((await t.request("DELETE", `/auth/passkeys/${passkey.id}`, undefined, bearer(accessToken))).status).toBe(204);
    expect(await problemOf(await passkeyLogin(t, authenticator))).toEqual({ status: 401, code: "INVALID_CREDENTIALS" });
  });

  it("refuses a registration's challenge, and one older than 5 minutes", async () => {
    const { accessToken, authenticator } = await withPasskey();
    const registration = await registrationOptions(t, accessToken);
    const crossFlow = authenticator.get({ challenge: registration.challenge, rpId: "localhost" });
    expect(await problemOf(await t.request("POST", "/auth/passkeys/login/verify", { response: crossFlow }))).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });

    const stale = authenticator.get(await loginOptions(t));
    useMovableClock().advance(5 * 60_000 + 1_000);
    expect(await problemOf(await t.request("POST", "/auth/passkeys/login/verify", { response: stale }))).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
  });

  it("limits failed assertions per credential (RATE_LIMIT_PASSKEY_CREDENTIAL), whoever presents them; the owner's right one still signs in", async () => {
    const limited = await createTestApp({ RATE_LIMIT_PASSKEY_CREDENTIAL: "2/900" });
    try {
      const { accessToken } = await registerUser(limited);
      const authenticator = newAuthenticator();
      await addPasskey(limited, accessToken, authenticator);
      expect((await passkeyLogin(limited, authenticator, { userVerified: false })).status).toBe(401);
      expect((await passkeyLogin(limited, authenticator, { userVerified: false })).status).toBe(401);
      expect(await problemOf(await passkeyLogin(limited, authenticator, { userVerified: false }))).toEqual({ status: 429, code: "RATE_LIMITED" });
      expect((await passkeyLogin(limited, authenticator)).status).toBe(200);
      // The right assertion reset the count.
      expect((await passkeyLogin(limited, authenticator, { userVerified: false })).status).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it("a credential id is not locked out by requests that never had a valid challenge (the default limit)", async () => {
    const limited = await createTestApp({ RATE_LIMIT_PASSKEY_CREDENTIAL: "20/900" });
    try {
      const { accessToken } = await registerUser(limited);
      const authenticator = newAuthenticator();
      await addPasskey(limited, accessToken, authenticator);
      const victimId = authenticator.credentials[0]!.id.toString("base64url");
      for (let i = 0; i < 21; i++) {
        const junk = junkAssertion(JSON.stringify({ type: "webauthn.get", challenge: `junk${i}` }), victimId);
        expect(await problemOf(await limited.request("POST", "/auth/passkeys/login/verify", { response: junk }))).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
      }
      const owner = await passkeyLogin(limited, authenticator);
      expect(owner.status, await owner.clone().text()).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it.each(NO_CHALLENGE)("refuses a clientDataJSON whose challenge is not a challenge (%s): 400 WEBAUTHN_CHALLENGE_INVALID, audited, never 500", async (clientData) => {
    const before = await t.db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.type, "passkey.refused"));
    const answer = await t.request("POST", "/auth/passkeys/login/verify", { response: junkAssertion(clientData) });
    expect(await problemOf(answer)).toEqual({ status: 400, code: "WEBAUTHN_CHALLENGE_INVALID" });
    const after = await t.db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.type, "passkey.refused"));
    expect(after.length).toBe(before.length + 1);
  });

  it("limits options per client IP (RATE_LIMIT_PASSKEY_IP)", async () => {
    const limited = await createTestApp({ RATE_LIMIT_PASSKEY_IP: "2/900" });
    try {
      expect((await limited.request("POST", "/auth/passkeys/login/options", {})).status).toBe(200);
      expect((await limited.request("POST", "/auth/passkeys/login/options", {})).status).toBe(200);
      expect(await problemOf(await limited.request("POST", "/auth/passkeys/login/options", {}))).toEqual({ status: 429, code: "RATE_LIMITED" });
    } finally {
      await limited.close();
    }
  });
});

describe("the caller's passkeys", () => {
  it("lists, renames and deletes only the caller's own: another user's id is 404", async () => {
    const ann = await registerUser(t);
    const bob = await registerUser(t);
    const annKey = await addPasskey(t, ann.accessToken, newAuthenticator());
    const listed = (await (await t.request("GET", "/auth/passkeys", undefined, bearer(ann.accessToken))).json()) as { passkeys: PasskeyJson[] };
    expect(listed.passkeys.map((entry) => entry.id)).toEqual([annKey.id]);
    expect(((await (await t.request("GET", "/auth/passkeys", undefined, bearer(bob.accessToken))).json()) as { passkeys: unknown[] }).passkeys).toEqual([]);

    expect((await t.request("PATCH", `/auth/passkeys/${annKey.id}`, { name: "Mine now" }, bearer(bob.accessToken))).status).toBe(404);
    expect((await t.request("DELETE", `/auth/passkeys/${annKey.id}`, undefined, bearer(bob.accessToken))).status).toBe(404);
    expect((await t.request("PATCH", "/auth/passkeys/not-a-uuid", { name: "x" }, bearer(ann.accessToken))).status).toBe(404);

    const renamed = await t.request("PATCH", `/auth/passkeys/${annKey.id}`, { name: "  Phone  " }, bearer(ann.accessToken));
    expect(((await renamed.json()) as { passkey: PasskeyJson }).passkey.name).toBe("Phone");
    expect((await t.request("PATCH", `/auth/passkeys/${annKey.id}`, { name: "bad\u0000name" }, bearer(ann.accessToken))).status).toBe(400);
    expect((await t.request("DELETE", `/auth/passkeys/${annKey.id}`, undefined, bearer(ann.accessToken))).status).toBe(204);
    expect(await auditTypes(t, ann.user.id)).toEqual(expect.arrayContaining(["passkey.added", "passkey.renamed", "passkey.removed"]));
    expect(await subjectsTo(t, ann.account.email)).toContain("A passkey was removed from your account");
  });

  it("the last passkey of an account without a password or a linked provider cannot be deleted (409); another way in lets it go", async () => {
    const { user, accessToken } = await registerUser(t);
    const first = await addPasskey(t, accessToken, newAuthenticator());
    const second = await addPasskey(t, accessToken, newAuthenticator());
    await t.db.delete(accounts).where(and(eq(accounts.userId, user.id), eq(accounts.providerId, "credential")));
    expect((await t.request("DELETE", `/auth/passkeys/${first.id}`, undefined, bearer(accessToken))).status).toBe(204);
    expect(await problemOf(await t.request("DELETE", `/auth/passkeys/${second.id}`, undefined, bearer(accessToken)))).toEqual({ status: 409, code: "LAST_SIGN_IN_METHOD" });
    await t.db.insert(accounts).values({ userId: user.id, providerId: "google", accountId: `sub-${user.id}` });
    expect((await t.request("DELETE", `/auth/passkeys/${second.id}`, undefined, bearer(accessToken))).status).toBe(204);
  });

  it("two deletions at once of an account's last two ways in: one of them is refused", async () => {
    const { user, accessToken } = await registerUser(t);
    const keys = [await addPasskey(t, accessToken, newAuthenticator()), await addPasskey(t, accessToken, newAuthenticator())];
    await t.db.delete(accounts).where(eq(accounts.userId, user.id));
    const answers = await Promise.all(keys.map((key) => t.request("DELETE", `/auth/passkeys/${key.id}`, undefined, bearer(accessToken))));
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 409]);
  });

  it("deleting needs a recent authentication", async () => {
    const { accessToken } = await registerUser(t);
    const key = await addPasskey(t, accessToken, newAuthenticator());
    useMovableClock().advance(10 * 60_000);
    expect(await problemOf(await t.request("DELETE", `/auth/passkeys/${key.id}`, undefined, bearer(accessToken)))).toEqual({ status: 401, code: "STEP_UP_REQUIRED" });
  });
});
