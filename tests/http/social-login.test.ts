import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { accounts } from "../../src/db/tables/accounts.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { users } from "../../src/db/tables/users.ts";
import { asAdmin, registerAdmin } from "../support/admin.ts";
import { useMovableClock } from "../support/clock.ts";
import { enrolTotp, verifiedUser, verifyMfa } from "../support/mfa.ts";
import { problemCode } from "../support/otp.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { type OidcProvider, startOidcProvider } from "../support/oauth-providers.ts";
import { APP_REDIRECT, pkcePair, returnToCallback, runFlow, sessionCookieOf, startFlow, visitProvider } from "../support/social-flow.ts";
import { bearer, createTestApp, newAccount, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/**
 * Social login over OpenID Connect against a local provider (oauth2-mock-server): the flow, the linking rules that
 * keep an address from being a way into someone else's account, and the flow's single use, expiry and checks.
 */
let provider: OidcProvider;
beforeAll(async () => {
  provider = await startOidcProvider();
});
afterAll(async () => {
  await provider.stop();
});

/**
 * An app with the mock provider configured. The caller closes it (its describe's afterAll, or onTestFinished): a
 * dozen apps left open until the end of the file, each with its pool, bus listener and outbox worker, ran the
 * PostgreSQL tier out of connections (100).
 */
async function socialApp(env: Record<string, string> = {}) {
  const app = await createTestApp({
    OAUTH_PROVIDERS: "mock",
    OAUTH_MOCK_CLIENT_ID: "servauth-test",
    OAUTH_MOCK_CLIENT_SECRET: "mock-secret",
    OAUTH_MOCK_ISSUER: provider.issuer,
    OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com, com.example.app:/oauth",
    ...env,
  });
  return app;
}

let subjects = 0;
/** The provider's next sign-in: a fresh subject with this address. */
function providerSignsIn(email: string, emailVerified = true) {
  subjects += 1;
  const sub = `subject-${Date.now()}-${subjects}`;
  provider.identify({ sub, email, email_verified: emailVerified });
  return sub;
}

const identitiesOf = (t: TestApp, userId: string) =>
  t.db.select().from(accounts).where(and(eq(accounts.userId, userId), eq(accounts.providerId, "mock")));
const auditOf = (t: TestApp, type: string) => t.db.select().from(auditEvents).where(eq(auditEvents.type, type));
async function mailsTo(t: TestApp, to: string) {
  await t.services.mail.drain();
  return t.sentMail.filter((mail) => mail.to === to).map((mail) => mail.subject);
}

describe("a first social login", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await socialApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists the provider", async () => {
    expect(await (await t.request("GET", "/auth/oauth/providers")).json()).toEqual({ providers: [{ id: "mock", name: "Mock" }] });
  });

  it("sends the browser to the provider with state, nonce and PKCE S256, and seals the flow into an HttpOnly cookie", async () => {
    const { response, location } = await startFlow(t, "mock");
    expect(response.status).toBe(302);
    const url = new URL(location ?? "");
    expect(url.origin).toBe(new URL(provider.issuer).origin);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("redirect_uri")).toBe(`${TEST_ORIGIN}/auth/oauth/providers/mock/callback`);
    const cookie = response.headers.getSetCookie().find((header) => header.startsWith("servauth.oauth="));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=None/);
    expect(cookie).toMatch(/Secure/);
  });

  it("creates a verified account, signs the browser in with amr fed, and lists the identity", async () => {
    const email = newAccount().email;
    const subject = providerSignsIn(email);
    const { response, location, cookies } = await runFlow(t, "mock");
    expect(response.status).toBe(302);
    expect(location.toString()).toBe(APP_REDIRECT);

    const me = await t.request("GET", "/auth/me", undefined, sessionCookieOf(cookies));
    expect(me.status).toBe(200);
    const body = await me.json();
    expect(body.user).toMatchObject({ email, emailVerified: true });
    expect(body.session.amr).toEqual(["fed"]);

    const listed = await (await t.request("GET", "/auth/me/accounts", undefined, sessionCookieOf(cookies))).json();
    expect(listed).toEqual({ accounts: [{ id: expect.any(String), provider: "mock", email, linkedAt: expect.any(String) }], password: false, passkeys: 0 });
    const [identity] = await identitiesOf(t, body.user.id);
    expect(identity?.accountId).toBe(subject);
    const succeeded = (await auditOf(t, "login.succeeded")).find((event) => event.userId === body.user.id);
    expect(succeeded?.payload).toEqual({ via: "oauth:mock" });
  });

  it("signs the same subject in again even after the provider changed its address; a new address is never a new key", async () => {
    const first = newAccount().email;
    const subject = providerSignsIn(first);
    const signedUp = await runFlow(t, "mock");
    const userId = (await (await t.request("GET", "/auth/me", undefined, sessionCookieOf(signedUp.cookies))).json()).user.id;

    provider.identify({ sub: subject, email: newAccount().email, email_verified: true });
    const again = await runFlow(t, "mock");
    const me = await (await t.request("GET", "/auth/me", undefined, sessionCookieOf(again.cookies))).json();
    expect(me.user.id).toBe(userId);
    expect(me.user.email).toBe(first);
  });

  it("refuses an address the provider does not vouch for when an account has it (no link on an unverified claim)", async () => {
    const owner = await registerUser(t);
    providerSignsIn(owner.account.email, false);
    const { location } = await runFlow(t, "mock");
    expect(location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");
    expect(await identitiesOf(t, owner.user.id)).toEqual([]);
  });

  it("makes no account for an address the provider does not vouch for (no squatting on the owner's address)", async () => {
    const victim = newAccount().email;
    providerSignsIn(victim, false);
    const { location, cookies } = await runFlow(t, "mock");
    expect(location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");
    expect(cookies["servauth.session"]).toBeUndefined();
    expect(await t.db.select().from(users).where(eq(users.email, victim))).toEqual([]);
    // The owner registers, resets and verifies as usual; no provider account has a way in.
    expect((await t.request("POST", "/auth/register", { email: victim, password: "the owner's own password" })).status).toBe(201);
    const [owner] = await t.db.select().from(users).where(eq(users.email, victim));
    expect(await identitiesOf(t, owner?.id ?? "")).toEqual([]);
    const failed = (await auditOf(t, "oauth.failed")).find((event) => (event.payload as { code?: string }).code === "OAUTH_EMAIL_UNVERIFIED");
    expect(failed?.payload).toMatchObject({ provider: "mock", reason: "The provider did not verify this address" });
  });

  it("refuses a provider that shares no address", async () => {
    subjects += 1;
    provider.identify({ sub: `no-mail-${subjects}` });
    const { location } = await runFlow(t, "mock");
    expect(location.searchParams.get("error")).toBe("OAUTH_EMAIL_REQUIRED");
  });
});

describe("an existing account whose address was never verified", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await socialApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("is claimed by the provider-verified owner: the registrant's password and sessions go, the owner is mailed", async () => {
    const registrant = await registerUser(t);
    const { email, password } = registrant.account;
    providerSignsIn(email);
    const { location, cookies } = await runFlow(t, "mock");
    expect(location.toString()).toBe(APP_REDIRECT);

    expect(await problemCode(await t.request("POST", "/auth/login", { email, password }))).toBe("INVALID_CREDENTIALS");
    expect((await t.request("GET", "/auth/me", undefined, bearer(registrant.accessToken))).status).toBe(401);
    const me = await (await t.request("GET", "/auth/me", undefined, sessionCookieOf(cookies))).json();
    expect(me.user).toMatchObject({ id: registrant.user.id, emailVerified: true });
    expect(await mailsTo(t, email)).toContain("Your account was secured");
    const claimed = (await auditOf(t, "account.claimed")).find((event) => event.userId === registrant.user.id);
    expect(claimed?.payload).toEqual({ via: "oauth:mock", passwordRemoved: true, identitiesRemoved: 0, revokedSessions: 1 });
  });

  it("cannot have a provider linked by its registrant (EMAIL_NOT_VERIFIED): the link would outlive the owner's password reset", async () => {
    const registrant = await registerUser(t);
    providerSignsIn(newAccount().email);
    const { location } = await runFlow(t, "mock", { mode: "link", headers: bearer(registrant.accessToken) });
    expect(location.searchParams.get("error")).toBe("EMAIL_NOT_VERIFIED");
    expect(await identitiesOf(t, registrant.user.id)).toEqual([]);
  });

  it("loses an identity linked while the address was unproven (before this rule) once the owner claims it with a sign-in code", async () => {
    const registrant = await registerUser(t);
    const userId = registrant.user.id;
    await t.db.insert(accounts).values({ userId, providerId: "mock", accountId: `legacy-${Date.now()}`, email: registrant.account.email });

    const claimed = await t.services.accountClaims.proveMailbox(userId, registrant.account.email);
    expect(claimed?.evicted).toMatchObject({ identitiesRemoved: 1 });
    expect(await identitiesOf(t, userId)).toEqual([]);
    expect((await t.request("GET", "/auth/me", undefined, bearer(registrant.accessToken))).status).toBe(401);
  });
});

describe("an existing verified account", () => {
  let t: TestApp;
  const clock = useMovableClock();
  beforeAll(async () => {
    t = await socialApp({ STEP_UP_MAX_AGE: "60" });
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers ACCOUNT_EXISTS_LINK_REQUIRED; the owner signs in, links with mode=link, and the provider then signs in to it", async () => {
    const owner = await verifiedUser(t);
    const subject = providerSignsIn(owner.account.email);
    const refused = await runFlow(t, "mock");
    expect(refused.location.origin + refused.location.pathname).toBe(APP_REDIRECT);
    expect(refused.location.searchParams.get("error")).toBe("ACCOUNT_EXISTS_LINK_REQUIRED");
    expect(refused.cookies["servauth.session"]).toBeUndefined();

    provider.identify({ sub: subject, email: owner.account.email, email_verified: true });
    const linked = await runFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });
    expect(linked.location.searchParams.get("linked")).toBe("mock");
    expect(await identitiesOf(t, owner.user.id)).toHaveLength(1);
    expect(await mailsTo(t, owner.account.email)).toContain("Mock sign-in was added to your account");

    const signedIn = await runFlow(t, "mock");
    const me = await (await t.request("GET", "/auth/me", undefined, sessionCookieOf(signedIn.cookies))).json();
    expect(me.user.id).toBe(owner.user.id);
  });

  it("refuses mode=link without a session, and with a session older than STEP_UP_MAX_AGE", async () => {
    const owner = await verifiedUser(t);
    expect((await startFlow(t, "mock", { mode: "link" })).response.status).toBe(401);
    clock.advance(61_000);
    const { response, location } = await startFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });
    expect(response.status).toBe(302);
    expect(new URL(location ?? "").searchParams.get("error")).toBe("STEP_UP_REQUIRED");
  });

  it("refuses mode=link started from another site's page (CSRF_REJECTED), accepts it from the server's own or an allowed page", async () => {
    const reg = await t.request("POST", "/auth/register", newAccount());
    const session = { cookie: reg.headers.getSetCookie().find((cookie) => cookie.startsWith("servauth.session="))?.split(";")[0] ?? "" };
    const crossSite: Record<string, string>[] = [
      { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" },
      { "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate", referer: "https://evil.example/page" },
      { referer: "https://evil.example/page" },
      { origin: "https://evil.example" },
      { origin: "null" },
    ];
    for (const headers of crossSite) {
      const { response, flowCookie } = await startFlow(t, "mock", { mode: "link", headers: { ...session, ...headers } });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(await problemCode(response)).toBe("CSRF_REJECTED");
      expect(flowCookie).toBeUndefined();
    }
    const trusted: Record<string, string>[] = [{ "sec-fetch-site": "same-origin" }, { "sec-fetch-site": "none" }, { "sec-fetch-site": "same-site", referer: `${TEST_ORIGIN}/settings` }, {}];
    for (const headers of trusted) {
      const { response, location } = await startFlow(t, "mock", { mode: "link", headers: { ...session, ...headers } });
      expect(response.status, JSON.stringify(headers)).toBe(302);
      expect(new URL(location ?? "").origin).toBe(new URL(provider.issuer).origin);
    }
    // A login flow needs no provenance: it acts on no session.
    expect((await startFlow(t, "mock", { headers: { "sec-fetch-site": "cross-site" } })).response.status).toBe(302);
  });

  it("refuses to link a provider account that already signs in to another user", async () => {
    const first = await verifiedUser(t);
    const second = await verifiedUser(t);
    const subject = providerSignsIn(first.account.email);
    await runFlow(t, "mock", { mode: "link", headers: bearer(first.accessToken) });
    provider.identify({ sub: subject, email: first.account.email, email_verified: true });
    const { location } = await runFlow(t, "mock", { mode: "link", headers: bearer(second.accessToken) });
    expect(location.searchParams.get("error")).toBe("OAUTH_IDENTITY_IN_USE");
    expect(await identitiesOf(t, second.user.id)).toEqual([]);
  });

  it("is linked at once with OAUTH_AUTO_LINK_VERIFIED=true", async () => {
    const autoLink = await socialApp({ OAUTH_AUTO_LINK_VERIFIED: "true" });
    onTestFinished(() => autoLink.close());
    const owner = await registerUser(autoLink);
    await autoLink.db.update(users).set({ emailVerified: true }).where(eq(users.id, owner.user.id));
    providerSignsIn(owner.account.email);
    const { location, cookies } = await runFlow(autoLink, "mock");
    expect(location.toString()).toBe(APP_REDIRECT);
    const me = await (await autoLink.request("GET", "/auth/me", undefined, sessionCookieOf(cookies))).json();
    expect(me.user.id).toBe(owner.user.id);
    const linked = (await auditOf(autoLink, "account.linked")).find((event) => event.userId === owner.user.id);
    expect(linked?.payload).toEqual({ provider: "mock", how: "auto" });
  });
});

describe("the flow against an attacker", () => {
  let t: TestApp;
  const clock = useMovableClock();
  beforeAll(async () => {
    t = await socialApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("answers a callback once: a replay (same code, same cookie) is refused", async () => {
    providerSignsIn(newAccount().email);
    const first = await runFlow(t, "mock");
    expect(first.location.toString()).toBe(APP_REDIRECT);
    const replay = await returnToCallback(t, first.callbackPath, first.flowCookie);
    expect(new URL(replay.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });

  it("refuses a callback whose state is not the flow's (login CSRF with the attacker's code)", async () => {
    providerSignsIn(newAccount().email);
    const victim = await startFlow(t, "mock");
    const attacker = await startFlow(t, "mock");
    const attackerCallback = await visitProvider(attacker.location ?? "");
    const response = await returnToCallback(t, attackerCallback, victim.flowCookie);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith("servauth.session="))).toBe(false);
  });

  it("refuses a callback without the flow cookie, or with a tampered one, before any redirect", async () => {
    const { location, flowCookie } = await startFlow(t, "mock");
    const callbackPath = await visitProvider(location ?? "");
    const missing = await returnToCallback(t, callbackPath, undefined);
    expect(missing.status).toBe(400);
    expect(await problemCode(missing)).toBe("OAUTH_FLOW_INVALID");
    const tampered = `${flowCookie?.slice(0, -2)}${flowCookie?.endsWith("A") ? "B" : "A"}A`;
    const refused = await returnToCallback(t, callbackPath, tampered);
    expect(await problemCode(refused)).toBe("OAUTH_FLOW_INVALID");
    expect(refused.headers.get("set-cookie")).toMatch(/^servauth\.oauth=; Max-Age=0/);
  });

  it("refuses an ID token whose nonce is not the flow's", async () => {
    providerSignsIn(newAccount().email);
    provider.tamper((payload) => {
      payload.nonce = "another-flows-nonce";
    });
    const { location } = await runFlow(t, "mock");
    expect(location.searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });

  it("refuses an ID token for another client or from another issuer", async () => {
    for (const change of [(payload: Record<string, unknown>) => (payload.aud = "someone-else"), (payload: Record<string, unknown>) => (payload.iss = "https://evil.example")]) {
      providerSignsIn(newAccount().email);
      provider.tamper(change);
      const { location } = await runFlow(t, "mock");
      expect(location.searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
    }
  });

  it("refuses a code obtained with another PKCE challenge (the verifier in the flow does not match)", async () => {
    providerSignsIn(newAccount().email);
    const { location, flowCookie } = await startFlow(t, "mock");
    const swapped = new URL(location ?? "");
    swapped.searchParams.set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    const response = await returnToCallback(t, await visitProvider(swapped.toString()), flowCookie);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });

  it("refuses a flow older than 10 minutes", async () => {
    providerSignsIn(newAccount().email);
    const { location, flowCookie } = await startFlow(t, "mock");
    const callbackPath = await visitProvider(location ?? "");
    clock.advance(10 * 60_000 + 1_000);
    const response = await returnToCallback(t, callbackPath, flowCookie);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });

  it("sends the provider's refusal back as OAUTH_ACCESS_DENIED", async () => {
    const { location, flowCookie } = await startFlow(t, "mock");
    const state = new URL(location ?? "").searchParams.get("state") ?? "";
    const response = await returnToCallback(t, `/auth/oauth/providers/mock/callback?error=access_denied&state=${state}`, flowCookie);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_ACCESS_DENIED");
  });

  it("refuses a flow started for another provider", async () => {
    const { location, flowCookie } = await startFlow(t, "mock");
    const callbackPath = (await visitProvider(location ?? "")).replace("/mock/", "/other/");
    const response = await returnToCallback(t, callbackPath, flowCookie);
    expect(new URL(response.headers.get("location") ?? "").searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });

  it("answers an unknown provider 404", async () => {
    expect(await problemCode(await t.request("GET", `/auth/oauth/providers/nope/authorize?redirectTo=${encodeURIComponent(APP_REDIRECT)}`))).toBe("OAUTH_PROVIDER_UNKNOWN");
  });
});

describe("redirectTo", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await socialApp({ OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com/app/, com.example.app:/oauth" });
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    "https://evil.example/app/",
    "https://app.example.com.evil.example/app/",
    "https://app.example.com@evil.example/app/",
    "https://user:pass@app.example.com/app/",
    "https://app.example.com:8443/app/",
    "http://app.example.com/app/",
    "//evil.example/app/",
    "/app/",
    "https:\\\\evil.example\\app/",
    "https://app.example.com\\@evil.example/app/",
    "https://app.example.com/application",
    "https://app.example.com/app/%2e%2e/admin",
    "https://app.example.com/app/..%2fadmin",
    "https://app.example.com/app/../admin",
    "https://app.example.com/app/\t",
    "javascript:alert(1)",
    "com.example.app:/other",
    "com.evil.app:/oauth",
  ])("refuses %s with 400 REDIRECT_NOT_ALLOWED and no redirect or cookie", async (redirectTo) => {
    const { response, flowCookie } = await startFlow(t, "mock", { redirectTo });
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(flowCookie).toBeUndefined();
    expect(await problemCode(response)).toBe("REDIRECT_NOT_ALLOWED");
  });

  it.each(["https://app.example.com/app/", "https://app.example.com/app/settings?tab=1", "com.example.app:/oauth/done"])("accepts %s", async (redirectTo) => {
    expect((await startFlow(t, "mock", { redirectTo })).response.status).toBe(302);
  });
});

describe("an app (SPA or mobile)", () => {
  let t: TestApp;
  const clock = useMovableClock();
  beforeAll(async () => {
    t = await socialApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("gets a one-time code in the redirect, exchanges it once with its PKCE verifier for the sign-in answer", async () => {
    const email = newAccount().email;
    providerSignsIn(email);
    const pkce = pkcePair();
    const { location, cookies } = await runFlow(t, "mock", { client: "app", codeChallenge: pkce.challenge, redirectTo: "com.example.app:/oauth/done" });
    expect(cookies["servauth.session"]).toBeUndefined();
    const code = location.searchParams.get("code") ?? "";
    expect(location.protocol).toBe("com.example.app:");

    const exchanged = await t.request("POST", "/auth/oauth/exchange", { code, code_verifier: pkce.verifier });
    expect(exchanged.status).toBe(200);
    const body = await exchanged.json();
    expect(body.user.email).toBe(email);
    expect((await t.request("GET", "/auth/me", undefined, bearer(body.accessToken))).status).toBe(200);
    expect(await problemCode(await t.request("POST", "/auth/oauth/exchange", { code, code_verifier: pkce.verifier }))).toBe("OAUTH_FLOW_INVALID");
  });

  it("refuses to start an app flow without a code_challenge, or a browser flow with one", async () => {
    for (const options of [{ client: "app" as const }, { client: "app" as const, codeChallenge: "too-short" }, { client: "browser" as const, codeChallenge: pkcePair().challenge }]) {
      const { response, flowCookie } = await startFlow(t, "mock", { ...options, redirectTo: "com.example.app:/oauth/done" });
      expect(response.status).toBe(400);
      expect(await problemCode(response)).toBe("VALIDATION_FAILED");
      expect(response.headers.get("location")).toBeNull();
      expect(flowCookie).toBeUndefined();
    }
  });

  it("refuses a code redeemed by anyone but the app that started the flow (no verifier, or another one), without spending it", async () => {
    const attacker = newAccount().email;
    providerSignsIn(attacker);
    const pkce = pkcePair();
    const { location } = await runFlow(t, "mock", { client: "app", codeChallenge: pkce.challenge, redirectTo: "https://app.example.com/oauth/done" });
    const code = location.searchParams.get("code") ?? "";
    // Login CSRF: the victim's SPA opened with the attacker's code holds another verifier (or none).
    const withoutVerifier = await t.request("POST", "/auth/oauth/exchange", { code }, { origin: TEST_ORIGIN });
    expect(await problemCode(withoutVerifier)).toBe("VALIDATION_FAILED");
    const withAnother = await t.request("POST", "/auth/oauth/exchange", { code, code_verifier: pkcePair().verifier }, { origin: TEST_ORIGIN });
    expect(withAnother.status).toBe(400);
    expect(await problemCode(withAnother)).toBe("OAUTH_FLOW_INVALID");
    expect(withAnother.headers.getSetCookie()).toEqual([]);
    // The code's own app still redeems it.
    expect((await t.request("POST", "/auth/oauth/exchange", { code, code_verifier: pkce.verifier })).status).toBe(200);
  });

  it("refuses a code after 60 seconds, and a code that is not one", async () => {
    providerSignsIn(newAccount().email);
    const pkce = pkcePair();
    const { location } = await runFlow(t, "mock", { client: "app", codeChallenge: pkce.challenge, redirectTo: "com.example.app:/oauth/done" });
    clock.advance(61_000);
    expect(await problemCode(await t.request("POST", "/auth/oauth/exchange", { code: location.searchParams.get("code"), code_verifier: pkce.verifier }))).toBe("OAUTH_FLOW_INVALID");
    expect(await problemCode(await t.request("POST", "/auth/oauth/exchange", { code: "not-a-code", code_verifier: pkce.verifier }))).toBe("OAUTH_FLOW_INVALID");
  });
});

describe("unlinking", () => {
  let t: TestApp;
  const clock = useMovableClock();
  beforeAll(async () => {
    t = await socialApp({ STEP_UP_MAX_AGE: "60" });
  });
  afterAll(async () => {
    await t.close();
  });

  it("refuses to remove the last way in (no password, no other identity), and needs a recent sign-in", async () => {
    providerSignsIn(newAccount().email);
    const { cookies } = await runFlow(t, "mock");
    const session = { ...sessionCookieOf(cookies), origin: TEST_ORIGIN };
    const { accounts: [identity] } = await (await t.request("GET", "/auth/me/accounts", undefined, session)).json();
    expect(await problemCode(await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, session))).toBe("LAST_SIGN_IN_METHOD");
    clock.advance(61_000);
    expect(await problemCode(await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, session))).toBe("STEP_UP_REQUIRED");
  });

  it("lets exactly one of two concurrent removals through when together they would leave no way in", async () => {
    providerSignsIn(newAccount().email);
    const { cookies } = await runFlow(t, "mock");
    const session = { ...sessionCookieOf(cookies), origin: TEST_ORIGIN };
    providerSignsIn(newAccount().email);
    await runFlow(t, "mock", { mode: "link", headers: session });
    const { accounts: identities } = await (await t.request("GET", "/auth/me/accounts", undefined, session)).json();
    expect(identities).toHaveLength(2);
    const answers = await Promise.all(identities.map((identity: { id: string }) => t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, session)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 409]);
    expect((await (await t.request("GET", "/auth/me/accounts", undefined, session)).json()).accounts).toHaveLength(1);
  });

  it("removes an identity when a password remains, mails the owner; another user's id is 404", async () => {
    const owner = await registerUser(t);
    await t.db.update(users).set({ emailVerified: true }).where(eq(users.id, owner.user.id));
    providerSignsIn(owner.account.email);
    await runFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });
    const { accounts: [identity], password } = await (await t.request("GET", "/auth/me/accounts", undefined, bearer(owner.accessToken))).json();
    expect(password).toBe(true);

    const stranger = await registerUser(t);
    expect(await problemCode(await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, bearer(stranger.accessToken)))).toBe("NOT_FOUND");
    expect(await problemCode(await t.request("DELETE", "/auth/me/accounts/not-a-uuid", undefined, bearer(owner.accessToken)))).toBe("NOT_FOUND");

    expect((await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, bearer(owner.accessToken))).status).toBe(204);
    expect((await (await t.request("GET", "/auth/me/accounts", undefined, bearer(owner.accessToken))).json()).accounts).toEqual([]);
    expect(await mailsTo(t, owner.account.email)).toContain("Mock sign-in was removed from your account");
  });
});

describe("linking and unlinking, as events", () => {
  it("are audited and reach a webhook receiver as account.linked and account.unlinked, with the provider and no token", async () => {
    const t = await socialApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" });
    const receiver = await startWebhookReceiver();
    onTestFinished(async () => {
      await receiver.close();
      await t.close();
    });
    const admin = asAdmin(t, (await registerAdmin(t)).accessToken);
    expect((await admin("POST", "/auth/admin/webhooks", { url: receiver.url, eventTypes: ["account.linked", "account.unlinked"] })).status).toBe(201);
    const owner = await verifiedUser(t);
    providerSignsIn(owner.account.email);

    await runFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });
    const { accounts: [identity] } = await (await t.request("GET", "/auth/me/accounts", undefined, bearer(owner.accessToken))).json();
    expect((await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, bearer(owner.accessToken))).status).toBe(204);
    await t.services.mail.drain();

    expect((await auditOf(t, "account.linked")).filter((event) => event.userId === owner.user.id).map((event) => event.payload)).toEqual([{ provider: "mock", how: "mode=link" }]);
    expect((await auditOf(t, "account.unlinked")).filter((event) => event.userId === owner.user.id).map((event) => event.payload)).toEqual([{ provider: "mock" }]);
    expect(receiver.received.map((delivery) => delivery.event).sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "account.linked", timestamp: expect.any(String), data: { userId: owner.user.id, provider: "mock" } },
      { type: "account.unlinked", timestamp: expect.any(String), data: { userId: owner.user.id, provider: "mock", sessionId: expect.any(String) } },
    ]);
    expect(receiver.received.map((delivery) => delivery.body).join()).not.toContain(owner.accessToken);
  });
});

describe("a user with a second factor", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await socialApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it("is asked for it after the social login: a browser gets the mfaToken in the redirect's fragment, an app at the exchange", async () => {
    const owner = await verifiedUser(t);
    const { recoveryCodes } = await enrolTotp(t, owner.accessToken, Date.now());
    providerSignsIn(owner.account.email);
    await runFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });

    const browser = await runFlow(t, "mock");
    expect(browser.cookies["servauth.session"]).toBeUndefined();
    expect(browser.location.searchParams.get("error")).toBe("MFA_REQUIRED");
    expect(browser.location.searchParams.get("methods")?.split(",")).toContain("totp");
    // Not in the query (history, server logs, Referer): in the fragment, which the browser never sends.
    expect(browser.location.searchParams.has("mfaToken")).toBe(false);
    const mfaToken = new URLSearchParams(browser.location.hash.slice(1)).get("mfaToken") ?? "";
    expect(mfaToken).not.toBe("");
    // A recovery code: the TOTP step of the enrolment's code may not have passed yet, and a step answers once.
    const verified = await verifyMfa(t, mfaToken, "recovery_code", recoveryCodes[0] ?? "");
    expect(verified.status, await verified.clone().text()).toBe(200);
    const signedIn = await verified.json();
    expect(signedIn.user.id).toBe(owner.user.id);
    const { session } = await (await t.request("GET", "/auth/me", undefined, bearer(signedIn.accessToken))).json();
    expect(session).toMatchObject({ amr: ["fed", "otp", "mfa"], aal: 2 });

    const pkce = pkcePair();
    const app = await runFlow(t, "mock", { client: "app", codeChallenge: pkce.challenge, redirectTo: "com.example.app:/oauth/done" });
    const exchanged = await t.request("POST", "/auth/oauth/exchange", { code: app.location.searchParams.get("code"), code_verifier: pkce.verifier });
    expect(exchanged.status).toBe(403);
    expect(await exchanged.json()).toMatchObject({ code: "MFA_REQUIRED", mfaToken: expect.any(String), methods: expect.arrayContaining(["totp"]) });
  });
});

describe("a user who signs in only through a provider", () => {
  it("can make email codes a second factor: the provider is a first factor besides the mailbox", async () => {
    const t = await socialApp();
    onTestFinished(() => t.close());
    const email = newAccount().email;
    providerSignsIn(email);
    const { cookies } = await runFlow(t, "mock");
    const session = { ...sessionCookieOf(cookies), origin: TEST_ORIGIN };
    const enable = await t.request("POST", "/auth/mfa/email/enable", undefined, session);
    expect(enable.status, await enable.clone().text()).toBeLessThan(300);
    expect(await mailsTo(t, email)).toContain("Confirm email as your second factor");
  });
});

describe("an administrator impersonating a user", () => {
  it("can neither link a provider to the account nor remove one (FORBIDDEN)", async () => {
    const t = await socialApp();
    onTestFinished(() => t.close());
    const owner = await verifiedUser(t);
    providerSignsIn(owner.account.email);
    await runFlow(t, "mock", { mode: "link", headers: bearer(owner.accessToken) });
    const { accounts: [identity] } = await (await t.request("GET", "/auth/me/accounts", undefined, bearer(owner.accessToken))).json();

    const admin = await registerAdmin(t);
    const impersonated = await asAdmin(t, admin.accessToken)("POST", `/auth/admin/users/${owner.user.id}/impersonate`, { reason: "ticket 1234" });
    expect(impersonated.status, await impersonated.clone().text()).toBe(200);
    const { accessToken } = await impersonated.json();

    providerSignsIn(newAccount().email);
    const { location } = await startFlow(t, "mock", { mode: "link", headers: bearer(accessToken) });
    expect(new URL(location ?? "").searchParams.get("error")).toBe("FORBIDDEN");
    expect(await problemCode(await t.request("DELETE", `/auth/me/accounts/${identity.id}`, undefined, bearer(accessToken)))).toBe("FORBIDDEN");
    expect(await identitiesOf(t, owner.user.id)).toHaveLength(1);
  });
});
