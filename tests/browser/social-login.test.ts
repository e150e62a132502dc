import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchBrowser, type TestBrowser } from "../support/browser.ts";
import { type OidcProvider, startOidcProvider } from "../support/oauth-providers.ts";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

type Listening = { url: string; close(): Promise<void> };

async function listen(server: Server, host: string): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * The provider as a browser meets it, on another site (localhost, while the server is 127.0.0.1): the mock's
 * endpoints, except that with response_mode=form_post its authorize answer comes back as a page that posts the
 * code and state to the callback, as Apple's does.
 */
async function startProviderSite(mockUrl: string): Promise<Listening> {
  return listen(
    createServer(async (request, response) => {
      const url = new URL(request.url ?? "/", "http://localhost");
      let body = "";
      for await (const chunk of request) body += chunk;
      const answer = await fetch(`${mockUrl}${url.pathname}${url.search}`, {
        method: request.method ?? "GET",
        headers: { "content-type": request.headers["content-type"] ?? "text/plain", authorization: request.headers.authorization ?? "" },
        ...(body === "" ? {} : { body }),
        redirect: "manual",
      });
      const location = answer.headers.get("location");
      if (url.pathname === "/authorize" && location !== null && url.searchParams.get("response_mode") === "form_post") {
        const back = new URL(location);
        const fields = [...back.searchParams].map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/"/g, "&quot;")}">`).join("");
        response.writeHead(200, { "content-type": "text/html" });
        response.end(`<form method="post" action="${back.origin}${back.pathname}">${fields}</form><script>document.forms[0].submit()</script>`);
        return;
      }
      response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json", ...(location ? { location } : {}) });
      response.end(await answer.text());
    }),
    "localhost",
  );
}

describe.skipIf(!hasChromium)("social login in Chromium", () => {
  let mock: OidcProvider;
  let providerSite: Listening;
  let appSite: Listening;
  let server: SpawnedServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    mock = await startOidcProvider();
    // The app the flow returns to: any page will do.
    appSite = await listen(createServer((_request, response) => response.writeHead(200, { "content-type": "text/html" }).end("<h1>App</h1>")), "127.0.0.1");
    providerSite = await startProviderSite(mock.issuer);
    mock.setIssuer(providerSite.url);
    const provider = (name: string, mode: string) => ({
      [`OAUTH_${name}_CLIENT_ID`]: "browser-test",
      [`OAUTH_${name}_CLIENT_SECRET`]: "browser-secret",
      [`OAUTH_${name}_ISSUER`]: providerSite.url,
      [`OAUTH_${name}_RESPONSE_MODE`]: mode,
    });
    server = await spawnServer({
      runtime: "bun",
      env: { OAUTH_PROVIDERS: "redirect,posted", ...provider("REDIRECT", "query"), ...provider("POSTED", "form_post"), OAUTH_REDIRECT_ALLOWLIST: appSite.url },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await providerSite?.close();
    await appSite?.close();
    await mock?.stop();
  });

  let counter = 0;
  async function signInWith(provider: string) {
    counter += 1;
    const email = `social-${Date.now()}-${counter}@example.com`;
    mock.identify({ sub: `browser-${counter}`, email, email_verified: true });
    await browser.context.clearCookies();
    const { page } = await browser.newPage();
    const redirectTo = `${appSite.url}/done`;
    await page.goto(`${server.url}/auth/oauth/providers/${provider}/authorize?redirectTo=${encodeURIComponent(redirectTo)}`);
    await page.waitForURL(redirectTo, { timeout: 15_000 });
    const me = await browser.context.request.get(`${server.url}/auth/me`);
    return { page, email, me: me.status() === 200 ? ((await me.json()) as { user: { email: string }; session: { amr: string[] } }) : null };
  }

  it("a redirect (query) callback sets the session cookies and lands on redirectTo", async () => {
    const { email, me, page } = await signInWith("redirect");
    expect(me?.user.email).toBe(email);
    expect(me?.session.amr).toEqual(["fed"]);
    await page.close();
  });

  it("a cross-site form-POST callback still carries the flow cookie and signs the browser in", async () => {
    const { email, me, page } = await signInWith("posted");
    expect(me?.user.email).toBe(email);
    // The flow cookie is spent and cleared.
    const cookies = await browser.context.cookies(server.url);
    expect(cookies.map((cookie) => cookie.name)).not.toContain("servauth.oauth");
    await page.close();
  });
});
