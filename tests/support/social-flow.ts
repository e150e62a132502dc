import { createHash, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { parseSetCookies, type TestApp } from "./test-app.ts";

export const APP_REDIRECT = "https://app.example.com/after-login";
export const FLOW_COOKIE = "servauth.oauth";

export type FlowOptions = { mode?: "login" | "link"; client?: "browser" | "app"; codeChallenge?: string; redirectTo?: string; headers?: Record<string, string> };

/** An app's PKCE pair for the exchange code (RFC 7636 S256). */
export function pkcePair() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** GET /auth/oauth/providers/{provider}/authorize: the redirect to the provider and the flow cookie. */
export async function startFlow(t: TestApp, provider: string, options: FlowOptions = {}) {
  const query = new URLSearchParams({ redirectTo: options.redirectTo ?? APP_REDIRECT, mode: options.mode ?? "login", client: options.client ?? "browser" });
  if (options.codeChallenge !== undefined) query.set("code_challenge", options.codeChallenge);
  const response = await t.request("GET", `/auth/oauth/providers/${provider}/authorize?${query}`, undefined, options.headers ?? {});
  const location = response.headers.get("location");
  return { response, location, flowCookie: parseSetCookies(response)[FLOW_COOKIE] };
}

/** What the provider's authorize endpoint answers (it signs the user in at once): the callback path and query. */
export async function visitProvider(location: string): Promise<string> {
  const response = await fetch(location, { redirect: "manual" });
  const back = response.headers.get("location");
  expect(response.status, `provider answered ${response.status}`).toBe(302);
  const url = new URL(back ?? "");
  return `${url.pathname}${url.search}`;
}

/** The provider's return to the callback, with the browser's flow cookie. */
export function returnToCallback(t: TestApp, callbackPath: string, flowCookie: string | undefined) {
  return t.request("GET", callbackPath, undefined, flowCookie === undefined ? {} : { cookie: `${FLOW_COOKIE}=${flowCookie}` });
}

/** A whole flow: authorize, provider, callback. Returns the callback's answer and where it points. */
export async function runFlow(t: TestApp, provider: string, options: FlowOptions = {}) {
  const started = await startFlow(t, provider, options);
  expect(started.response.status, await started.response.clone().text()).toBe(302);
  const callbackPath = await visitProvider(started.location ?? "");
  const response = await returnToCallback(t, callbackPath, started.flowCookie);
  return { response, location: new URL(response.headers.get("location") ?? "about:blank"), cookies: parseSetCookies(response), callbackPath, flowCookie: started.flowCookie };
}

/** The session cookie header of a browser signed in by a callback. */
export const sessionCookieOf = (cookies: Record<string, string>) => ({ cookie: `servauth.session=${cookies["servauth.session"]}` });
