import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CDPSession, Page } from "playwright-core";

/**
 * A test page for the browser tier: what an app's own page does with the API, `fetch(..., {credentials: "include"})`
 * and navigator.credentials with the JSON forms of the options (PublicKeyCredential.parse*OptionsFromJSON and
 * toJSON). Served on a loopback port; the host name the browser uses decides its origin and site.
 */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>App</title></head><body>
<form><input id="username" name="username" autocomplete="username webauthn"></form>
<script>
  window.call = async (url, method, body) => {
    const init = { method, credentials: "include" };
    if (body !== undefined) { init.headers = { "content-type": "application/json" }; init.body = JSON.stringify(body); }
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    } catch (error) {
      return { status: 0, error: String(error) };
    }
  };
  window.createCredential = async (options) =>
    (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })).toJSON();
  window.getCredential = async (options, mediation) => {
    const request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) };
    if (mediation) request.mediation = mediation;
    return (await navigator.credentials.get(request)).toJSON();
  };
</script></body></html>`;

export type PageSite = { port: number; close(): Promise<void> };

export async function startPageSite(): Promise<PageSite> {
  const server: Server = createServer((_request, response) => response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type ApiAnswer = { status: number; body: Record<string, unknown> | null; error?: string };

/** fetch from the page, as the app's script would. */
export function callFrom(page: Page, url: string, method: string, body?: unknown): Promise<ApiAnswer> {
  return page.evaluate(([target, verb, payload]) => (window as unknown as { call: (...args: unknown[]) => Promise<ApiAnswer> }).call(target, verb, payload), [url, method, body] as const);
}

export function createCredentialIn(page: Page, options: unknown): Promise<Record<string, unknown>> {
  return page.evaluate((input) => (window as unknown as { createCredential: (o: unknown) => Promise<Record<string, unknown>> }).createCredential(input), options);
}

export function getCredentialIn(page: Page, options: unknown, mediation?: "conditional"): Promise<Record<string, unknown>> {
  return page.evaluate(
    ([input, how]) => (window as unknown as { getCredential: (o: unknown, m?: string) => Promise<Record<string, unknown>> }).getCredential(input, how),
    [options, mediation] as const,
  );
}

/**
 * The Chrome DevTools Protocol virtual authenticator on the page: CTAP2 over the internal transport, with resident
 * keys and user verification (a platform authenticator with a PIN or biometric that always succeeds until told
 * otherwise).
 */
export async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}
