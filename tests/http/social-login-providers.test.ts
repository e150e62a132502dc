import { and, eq } from "drizzle-orm";
import { exportPKCS8, generateKeyPair, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts } from "../../src/db/tables/accounts.ts";
import { users } from "../../src/db/tables/users.ts";
import { verifiedUser } from "../support/mfa.ts";
import { problemCode } from "../support/otp.ts";
import { startFakeGithub, startOidcProvider, startSilentServer } from "../support/oauth-providers.ts";
import { APP_REDIRECT, FLOW_COOKIE, runFlow, sessionCookieOf, startFlow, visitProvider } from "../support/social-flow.ts";
import { bearer, createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";

/** The provider kinds beside a generic OpenID provider: GitHub (plain OAuth 2.0), Microsoft's keys, form_post, outages. */
const apps: TestApp[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(stops.map((stop) => stop()));
});

async function appWith(env: Record<string, string>) {
  const app = await createTestApp({ OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com", ...env });
  apps.push(app);
  return app;
}

const meOf = async (t: TestApp, cookies: Record<string, string>) => (await t.request("GET", "/auth/me", undefined, sessionCookieOf(cookies))).json();

describe("GitHub (plain OAuth 2.0)", () => {
  let t: TestApp;
  let github: Awaited<ReturnType<typeof startFakeGithub>>;
  let ids = 1000;
  beforeAll(async () => {
    github = await startFakeGithub("gh-secret");
    stops.push(github.stop);
    t = await appWith({ OAUTH_PROVIDERS: "github", OAUTH_GITHUB_CLIENT_ID: "gh-client", OAUTH_GITHUB_CLIENT_SECRET: "gh-secret", ...github.env("OAUTH_GITHUB_") });
  });
  const githubSignsIn = (email: string, verified: boolean) => {
    ids += 1;
    github.identify({ id: ids, emails: [{ email: `other${ids}@example.com`, primary: false, verified: true }, { email, primary: true, verified }] });
    return ids;
  };

  it("creates a verified account from a verified primary address, keyed on the numeric user id", async () => {
    const email = newAccount().email;
    const id = githubSignsIn(email, true);
    const { location, cookies } = await runFlow(t, "github");
    expect(location.toString()).toBe(APP_REDIRECT);
    const me = await meOf(t, cookies);
    expect(me.user).toMatchObject({ email, emailVerified: true });
    const [identity] = await t.db.select().from(accounts).where(and(eq(accounts.userId, me.user.id), eq(accounts.providerId, "github")));
    expect(identity?.accountId).toBe(String(id));
  });

  it("makes no account for an unverified primary address (OAUTH_EMAIL_UNVERIFIED)", async () => {
    const email = newAccount().email;
    githubSignsIn(email, false);
    const { location, cookies } = await runFlow(t, "github");
    expect(location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");
    expect(cookies["servauth.session"]).toBeUndefined();
    expect(await t.db.select().from(users).where(eq(users.email, email))).toEqual([]);
  });

  it("does not claim or link an existing account with an unverified primary address, but claims it with a verified one", async () => {
    const registrant = await registerUser(t);
    githubSignsIn(registrant.account.email, false);
    expect((await runFlow(t, "github")).location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");
    githubSignsIn(registrant.account.email, true);
    const claimed = await runFlow(t, "github");
    expect((await meOf(t, claimed.cookies)).user).toMatchObject({ id: registrant.user.id, emailVerified: true });
  });
});

describe("Microsoft", () => {
  const tenant = "0b5e4c2a-9d7f-4e1b-8a3c-6f2d1e0c9b8a";
  let t: TestApp;
  let provider: Awaited<ReturnType<typeof startOidcProvider>>;
  beforeAll(async () => {
    provider = await startOidcProvider();
    stops.push(provider.stop);
    t = await appWith({
      OAUTH_PROVIDERS: "microsoft",
      OAUTH_MICROSOFT_CLIENT_ID: "ms-client",
      OAUTH_MICROSOFT_CLIENT_SECRET: "ms-secret",
      OAUTH_MICROSOFT_TENANT: tenant,
      OAUTH_MICROSOFT_ISSUER: provider.issuer,
    });
  });

  it("never takes its email claim as verified: no claim, no link, no account; linked with mode=link it signs in, keyed on tenant id + object id", async () => {
    const victim = await registerUser(t);
    provider.identify({ sub: "pairwise-sub", tid: tenant, oid: "object-1", email: victim.account.email, email_verified: true });
    // The address matches an account, but Entra's email claim proves nothing.
    expect((await runFlow(t, "microsoft")).location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");

    const email = newAccount().email;
    provider.identify({ sub: "pairwise-sub-2", tid: tenant, oid: "object-2", email, email_verified: true });
    expect((await runFlow(t, "microsoft")).location.searchParams.get("error")).toBe("OAUTH_EMAIL_UNVERIFIED");
    expect(await t.db.select().from(users).where(eq(users.email, email))).toEqual([]);

    const owner = await verifiedUser(t);
    provider.identify({ sub: "pairwise-sub-2", tid: tenant, oid: "object-2", email, email_verified: true });
    expect((await runFlow(t, "microsoft", { mode: "link", headers: bearer(owner.accessToken) })).location.searchParams.get("linked")).toBe("microsoft");
    provider.identify({ sub: "pairwise-sub-2", tid: tenant, oid: "object-2", email, email_verified: true });
    const { cookies } = await runFlow(t, "microsoft");
    expect((await meOf(t, cookies)).user.id).toBe(owner.user.id);
    const [identity] = await t.db.select().from(accounts).where(and(eq(accounts.userId, owner.user.id), eq(accounts.providerId, "microsoft")));
    expect(identity?.accountId).toBe(`${tenant}:object-2`);
  });

  it("refuses an ID token from another tenant", async () => {
    provider.identify({ sub: "s", tid: "11111111-2222-3333-4444-555555555555", oid: "object-3", email: newAccount().email, email_verified: true });
    expect((await runFlow(t, "microsoft")).location.searchParams.get("error")).toBe("OAUTH_FLOW_INVALID");
  });
});

/** The provider's answer posted to the callback from the provider's origin, as a form_post provider's page does. */
async function postToCallback(t: TestApp, providerName: string, issuer: string) {
  const { location, flowCookie } = await startFlow(t, providerName);
  expect(new URL(location ?? "").searchParams.get("response_mode")).toBe("form_post");
  // The mock answers with a redirect; a real form_post provider posts the same parameters from its own page.
  const callback = new URL(await visitProvider(location ?? ""), "http://localhost");
  const response = await t.app.request(callback.pathname, {
    method: "POST",
    body: callback.searchParams.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(issuer).origin, cookie: `${FLOW_COOKIE}=${flowCookie}` },
  });
  expect(response.status).toBe(302);
  expect(response.headers.get("location")).toBe(APP_REDIRECT);
  const session = response.headers.getSetCookie().find((cookie) => cookie.startsWith("servauth.session="));
  return meOf(t, { "servauth.session": session?.split(";")[0]?.split("=")[1] ?? "" });
}

describe("a form-POST callback (response_mode=form_post)", () => {
  it("is accepted from the provider's origin, bound by the flow cookie", async () => {
    const provider = await startOidcProvider();
    stops.push(provider.stop);
    const t = await appWith({
      OAUTH_PROVIDERS: "corp",
      OAUTH_CORP_CLIENT_ID: "corp-client",
      OAUTH_CORP_CLIENT_SECRET: "corp-secret",
      OAUTH_CORP_ISSUER: provider.issuer,
      OAUTH_CORP_RESPONSE_MODE: "form_post",
    });
    const email = newAccount().email;
    provider.identify({ sub: "posted", email, email_verified: true });
    expect((await postToCallback(t, "corp", provider.issuer)).user.email).toBe(email);
  });
});

describe("Apple", () => {
  it("posts its answer, gets a client secret signed with the team's key, and says email_verified as a string", async () => {
    const provider = await startOidcProvider();
    stops.push(provider.stop);
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const t = await appWith({
      OAUTH_PROVIDERS: "apple",
      OAUTH_APPLE_CLIENT_ID: "com.example.web",
      OAUTH_APPLE_TEAM_ID: "TEAM123456",
      OAUTH_APPLE_KEY_ID: "KEY1234567",
      OAUTH_APPLE_PRIVATE_KEY: (await exportPKCS8(privateKey)).replace(/\n/g, "\\n"),
      OAUTH_APPLE_ISSUER: provider.issuer,
    });
    const email = newAccount().email;
    provider.identify({ sub: "001234.abcdef", email, email_verified: "true" });
    expect((await postToCallback(t, "apple", provider.issuer)).user).toMatchObject({ email, emailVerified: true });
    const secret = provider.lastClientSecret() ?? "";
    const { payload } = await jwtVerify(secret, publicKey, { issuer: "TEAM123456", subject: "com.example.web", audience: "https://appleid.apple.com" });
    expect(payload.exp).toBeGreaterThan(payload.iat ?? 0);
  });
});

describe("a provider that is down", () => {
  it("answers OAUTH_PROVIDER_UNAVAILABLE within the timeout instead of hanging, and /ready reports it", async () => {
    const silent = await startSilentServer();
    stops.push(silent.stop);
    const t = await appWith({
      OAUTH_PROVIDERS: "hangs,refuses",
      OAUTH_HANGS_CLIENT_ID: "c",
      OAUTH_HANGS_CLIENT_SECRET: "s",
      OAUTH_HANGS_ISSUER: silent.url,
      OAUTH_REFUSES_CLIENT_ID: "c",
      OAUTH_REFUSES_CLIENT_SECRET: "s",
      // Port 9 (discard) on loopback: nothing listens there.
      OAUTH_REFUSES_ISSUER: "http://127.0.0.1:9",
      OAUTH_HTTP_TIMEOUT_MS: "300",
    });
    for (const name of ["hangs", "refuses"]) {
      const { response, location } = await startFlow(t, name);
      expect(response.status).toBe(302);
      expect(new URL(location ?? "").searchParams.get("error")).toBe("OAUTH_PROVIDER_UNAVAILABLE");
    }
    const ready = await (await t.request("GET", "/ready")).json();
    expect(ready.checks.oauthProviders).toEqual({ hangs: "unavailable", refuses: "unavailable" });
    expect(await problemCode(await t.request("GET", "/auth/oauth/providers/hangs/authorize?redirectTo=https://evil.example"))).toBe("REDIRECT_NOT_ALLOWED");
  });
});
