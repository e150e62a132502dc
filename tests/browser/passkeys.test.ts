import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchBrowser, type TestBrowser } from "../support/browser.ts";
import { totpAt } from "../support/mfa.ts";
import { addVirtualAuthenticator, type ApiAnswer, callFrom, createCredentialIn, getCredentialIn, type PageSite, startPageSite } from "../support/passkey-page.ts";
import { type SmtpCapture, startSmtpCapture, tokenFrom } from "../support/smtp-capture.ts";
import { type Runtime, spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

/**
 * Passkeys and the cookie flows in Chromium: a page on an allowed loopback origin calls the API with
 * fetch(..., {credentials: "include"}) and navigator.credentials, and the CDP virtual authenticator plays the
 * platform authenticator. The API is addressed as http://localhost:<port> (the server's loopback name), so page and
 * API are the same site (localhost) and the RP ID is "localhost"; http://127.0.0.1 and http://evil.localhost pages
 * are other sites, http://localhost:<other port> is the same site on an origin that is not allowed.
 */
const PASSWORD = "correct horse battery staple";

describe.skipIf(!hasChromium)("passkeys and cookies in Chromium", () => {
  let appSite: PageSite;
  let otherSite: PageSite;
  let smtp: SmtpCapture;
  let browser: TestBrowser;
  const servers: Partial<Record<Runtime, SpawnedServer>> = {};

  const appPage = () => `http://localhost:${appSite.port}/`;
  const apiOf = (runtime: Runtime) => (servers[runtime]?.url ?? "").replace("127.0.0.1", "localhost");

  beforeAll(async () => {
    [appSite, otherSite, smtp] = await Promise.all([startPageSite(), startPageSite(), startSmtpCapture()]);
    const env = { CORS_ORIGINS: `http://localhost:${appSite.port}`, WEBAUTHN_RP_ID: "localhost", SMTP_URL: smtp.url };
    const [bun, node] = await Promise.all([spawnServer({ runtime: "bun", env }), spawnServer({ runtime: "node", env })]);
    servers.bun = bun;
    servers.node = node;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    await Promise.all([appSite?.close(), otherSite?.close(), smtp?.close()]);
  });

  let counter = 0;
  /** A fresh page on the allowed origin with a virtual authenticator, and a new account signed in from it. */
  async function signedInPage(runtime: Runtime = "bun") {
    const api = apiOf(runtime);
    await browser.context.clearCookies();
    const { page } = await browser.newPage();
    await page.goto(appPage());
    const authenticator = await addVirtualAuthenticator(page);
    counter += 1;
    const email = `passkey-${runtime}-${Date.now()}-${counter}@example.com`;
    const registered = await callFrom(page, `${api}/auth/register`, "POST", { email, password: PASSWORD });
    expect(registered.status).toBe(201);
    const call = (path: string, method = "GET", body?: unknown) => callFrom(page, `${api}${path}`, method, body);
    return { api, page, email, call, ...authenticator };
  }

  type Call = (path: string, method?: string, body?: unknown) => Promise<ApiAnswer>;

  async function addPasskey(page: Page, call: Call) {
    const options = await call("/auth/passkeys/register/options", "POST", {});
    expect(options.status).toBe(200);
    const added = await call("/auth/passkeys/register/verify", "POST", { response: await createCredentialIn(page, options.body), name: "Virtual" });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    return added.body?.passkey as { id: string };
  }

  async function assertion(page: Page, call: Call, mediation?: "conditional") {
    const options = await call("/auth/passkeys/login/options", "POST", {});
    expect(options.body).toMatchObject({ allowCredentials: [], userVerification: "required", rpId: "localhost" });
    return getCredentialIn(page, options.body, mediation);
  }

  const me = async (call: Call) => call("/auth/me");

  it("registers a passkey, signs out, and signs back in with it without an email, also through autofill (conditional mediation)", async () => {
    const { page, call, email } = await signedInPage();
    await addPasskey(page, call);
    expect((await call("/auth/logout", "POST")).status).toBe(204);
    expect((await me(call)).status).toBe(401);

    const signedIn = await call("/auth/passkeys/login/verify", "POST", { response: await assertion(page, call) });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    const session = (await me(call)).body as { user: { email: string }; session: { amr: string[]; aal: number } };
    expect(session.user.email).toBe(email);
    expect(session.session.aal).toBe(2);
    expect(session.session.amr).toEqual(expect.arrayContaining(["user", "mfa"]));

    expect((await call("/auth/logout", "POST")).status).toBe(204);
    await page.focus("#username");
    const conditional = await call("/auth/passkeys/login/verify", "POST", { response: await assertion(page, call, "conditional") });
    expect(conditional.status, JSON.stringify(conditional.body)).toBe(200);
    expect((await me(call)).status).toBe(200);

    const listed = await call("/auth/passkeys");
    const [passkey] = (listed.body as { passkeys: Array<{ id: string; lastUsedAt: string | null }> }).passkeys;
    expect(passkey?.lastUsedAt).not.toBeNull();
    // PATCH is a CORS method too.
    expect((await call(`/auth/passkeys/${passkey?.id}`, "PATCH", { name: "Renamed" })).status).toBe(200);
    await page.close();
  });

  it("finishes a password sign-in as the second factor", async () => {
    const { api, page, call, email } = await signedInPage();
    await addPasskey(page, call);
    const mail = await smtp.waitFor(email, (message) => message.subject === "Confirm your email address", 15_000);
    const verified = await fetch(`${api}/auth/verify-email`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: tokenFrom(mail, "/verify-email") }) });
    expect(verified.status).toBeLessThan(300);
    const setup = await call("/auth/mfa/totp/setup", "POST");
    expect(setup.status, JSON.stringify(setup.body)).toBe(200);
    expect((await call("/auth/mfa/totp/confirm", "POST", { code: totpAt(String(setup.body?.secret), Date.now()) })).status).toBe(200);
    expect((await call("/auth/logout", "POST")).status).toBe(204);

    const login = await call("/auth/login", "POST", { email, password: PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ code: "MFA_REQUIRED", methods: expect.arrayContaining(["webauthn"]) });
    const mfaToken = String(login.body?.mfaToken);
    const options = await call("/auth/mfa/webauthn/options", "POST", { mfaToken });
    expect((options.body as { allowCredentials: unknown[] }).allowCredentials).toHaveLength(1);
    const finished = await call("/auth/mfa/verify", "POST", { mfaToken, method: "webauthn", response: await getCredentialIn(page, options.body) });
    expect(finished.status, JSON.stringify(finished.body)).toBe(200);
    const session = (await me(call)).body as { session: { amr: string[]; aal: number } };
    expect(session.session).toMatchObject({ aal: 2, amr: expect.arrayContaining(["pwd", "mfa"]) });
    await page.close();
  });

  describe("refused", () => {
    it("a replayed assertion", async () => {
      const { page, call } = await signedInPage();
      await addPasskey(page, call);
      const response = await assertion(page, call);
      expect((await call("/auth/passkeys/login/verify", "POST", { response })).status).toBe(200);
      const replay = await call("/auth/passkeys/login/verify", "POST", { response });
      expect(replay).toMatchObject({ status: 400, body: { code: "WEBAUTHN_CHALLENGE_INVALID" } });
      await page.close();
    });

    it("a challenge from another flow (a registration's, used to sign in)", async () => {
      const { page, call } = await signedInPage();
      await addPasskey(page, call);
      const registration = await call("/auth/passkeys/register/options", "POST", {});
      const challenge = String(registration.body?.challenge);
      const response = await getCredentialIn(page, { challenge, rpId: "localhost", allowCredentials: [], userVerification: "required" });
      expect(await call("/auth/passkeys/login/verify", "POST", { response })).toMatchObject({ status: 400, body: { code: "WEBAUTHN_CHALLENGE_INVALID" } });
      await page.close();
    });

    it("the credential of a deleted passkey", async () => {
      const { page, call } = await signedInPage();
      const passkey = await addPasskey(page, call);
      expect((await call(`/auth/passkeys/${passkey.id}`, "DELETE")).status).toBe(204);
      expect((await call("/auth/logout", "POST")).status).toBe(204);
      const response = await assertion(page, call);
      expect(await call("/auth/passkeys/login/verify", "POST", { response })).toMatchObject({ status: 401, body: { code: "INVALID_CREDENTIALS" } });
      await page.close();
    });

    it("an assertion whose user verification failed (setUserVerified false)", async () => {
      const { page, call, cdp, authenticatorId } = await signedInPage();
      await addPasskey(page, call);
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
      // Asked for verification, the browser itself gives up; asked without, the server refuses the unverified assertion.
      const options = (await call("/auth/passkeys/login/options", "POST", {})).body;
      await expect(getCredentialIn(page, options)).rejects.toThrow(/NotAllowedError/);
      const fresh = (await call("/auth/passkeys/login/options", "POST", {})).body;
      const response = await getCredentialIn(page, { ...fresh, userVerification: "discouraged" });
      expect(await call("/auth/passkeys/login/verify", "POST", { response })).toMatchObject({ status: 401, body: { code: "INVALID_CREDENTIALS" } });
      await page.close();
    });

    it("an assertion made for another RP ID (a phishing page relaying our challenge)", async () => {
      const { api, page, call, cdp, authenticatorId } = await signedInPage();
      await addPasskey(page, call);
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      const [victim] = credentials;
      if (victim === undefined) throw new Error("the virtual authenticator holds no credential");
      // The same key, on an authenticator that will sign for evil.localhost (an RP ID the real page could never ask for).
      const { page: phishing } = await browser.newPage();
      await phishing.goto(`http://evil.localhost:${otherSite.port}/`);
      const evil = await addVirtualAuthenticator(phishing);
      await evil.cdp.send("WebAuthn.addCredential", { authenticatorId: evil.authenticatorId, credential: { ...victim, rpId: "evil.localhost" } });
      const options = (await (await fetch(`${api}/auth/passkeys/login/options`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as Record<string, unknown>;
      const response = await getCredentialIn(phishing, { ...options, rpId: "evil.localhost" });
      const relayed = await fetch(`${api}/auth/passkeys/login/verify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ response }) });
      expect(relayed.status).toBe(401);
      await phishing.close();
      await page.close();
    });
  });

  describe("the cookie flows as a browser sends them", () => {
    it("a login from the allowed origin sets HttpOnly cookies; /auth/me and logout work with credentials", async () => {
      const { api, page, call, email } = await signedInPage();
      expect((await call("/auth/logout", "POST")).status).toBe(204);
      const login = await call("/auth/login", "POST", { email, password: PASSWORD });
      expect(login.status).toBe(200);
      const cookies = await browser.context.cookies(api);
      const session = cookies.find((cookie) => cookie.name === "servauth.session");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax" });
      expect(await page.evaluate(() => document.cookie)).not.toContain("servauth");
      expect((await me(call)).status).toBe(200);
      expect((await call("/auth/logout", "POST")).status).toBe(204);
      expect((await me(call)).status).toBe(401);
      await page.close();
    });

    it("the same fetch from a page on an origin that is not allowed is refused: CORS hides answers, CSRF refuses the POST", async () => {
      const { api, page, call } = await signedInPage();
      const { page: other } = await browser.newPage();
      // Same site (localhost), another origin: the session cookie goes along, so only CORS and CSRF stand in the way.
      await other.goto(`http://localhost:${otherSite.port}/`);
      expect(await callFrom(other, `${api}/auth/me`, "GET")).toMatchObject({ status: 0 });
      expect(await callFrom(other, `${api}/auth/logout`, "POST", {})).toMatchObject({ status: 0 });
      // A "simple" POST (no preflight) does reach the server, with the session cookie: CSRF must refuse it. The
      // answer never reaches the page (Cross-Origin-Resource-Policy: same-origin), so the proof is the session,
      // which a logout that went through would have ended.
      const blocked = await other.evaluate(
        (url) => fetch(url, { method: "POST", mode: "no-cors", credentials: "include" }).then(() => "delivered", (error: unknown) => String(error)),
        `${api}/auth/logout`,
      );
      expect(blocked).toMatch(/TypeError/);
      expect((await me(call)).status).toBe(200);
      await other.close();
      await page.close();
    });

    it("a cross-site form POST is refused and the session stays", async () => {
      const { api, page, call } = await signedInPage();
      const { page: attacker } = await browser.newPage();
      await attacker.goto(`http://127.0.0.1:${otherSite.port}/`);
      const [refused] = await Promise.all([
        attacker.waitForResponse(`${api}/auth/logout`),
        attacker.evaluate((url) => {
          const form = document.createElement("form");
          form.method = "post";
          form.action = url;
          document.body.append(form);
          form.submit();
        }, `${api}/auth/logout`),
      ]);
      expect(refused.status()).toBe(403);
      expect((await me(call)).status).toBe(200);
      await attacker.close();
      await page.close();
    });
  });

  it("Node serves the passkey sign-in too", async () => {
    const { page, call, email } = await signedInPage("node");
    await addPasskey(page, call);
    expect((await call("/auth/logout", "POST")).status).toBe(204);
    const signedIn = await call("/auth/passkeys/login/verify", "POST", { response: await assertion(page, call) });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(((await me(call)).body as { user: { email: string } }).user.email).toBe(email);
    await page.close();
  });
});
