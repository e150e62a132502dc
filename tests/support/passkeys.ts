import { expect } from "vitest";
import { bearer, TEST_ORIGIN, type TestApp } from "./test-app.ts";
import { createSoftAuthenticator, type SoftAuthenticator, type Tamper } from "./soft-authenticator.ts";

export type PasskeyJson = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean; deviceType: string; transports: string[] };
export type RequestOptionsJson = { challenge: string; rpId: string; allowCredentials: Array<{ id: string }>; userVerification: string };

export const newAuthenticator = (origin = TEST_ORIGIN) => createSoftAuthenticator(origin);

/** Registration options for the holder of `token`. */
export async function registrationOptions(t: TestApp, token: string) {
  const response = await t.request("POST", "/auth/passkeys/register/options", {}, bearer(token));
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Parameters<SoftAuthenticator["create"]>[0] & {
    authenticatorSelection: Record<string, unknown>;
    excludeCredentials: Array<{ id: string }>;
    attestation: string;
  };
}

/** Registers a passkey made by `authenticator` for the holder of `token`; the raw answer. */
export async function registerPasskey(t: TestApp, token: string, authenticator: SoftAuthenticator, tamper: Tamper & { synced?: boolean; name?: string } = {}) {
  const options = await registrationOptions(t, token);
  const { response } = authenticator.create(options, tamper);
  return t.request("POST", "/auth/passkeys/register/verify", { response, ...(tamper.name ? { name: tamper.name } : {}) }, bearer(token));
}

/** Registers a passkey and returns it, failing the test if the server refused. */
export async function addPasskey(t: TestApp, token: string, authenticator: SoftAuthenticator, tamper: Tamper & { synced?: boolean; name?: string } = {}) {
  const answer = await registerPasskey(t, token, authenticator, tamper);
  expect(answer.status, await answer.clone().text()).toBe(201);
  return ((await answer.json()) as { passkey: PasskeyJson }).passkey;
}

export async function loginOptions(t: TestApp): Promise<RequestOptionsJson> {
  const response = await t.request("POST", "/auth/passkeys/login/options", {});
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as RequestOptionsJson;
}

/** A passwordless sign-in: options, the authenticator's assertion, the server's answer. */
export async function passkeyLogin(t: TestApp, authenticator: SoftAuthenticator, tamper: Tamper = {}) {
  const response = authenticator.get(await loginOptions(t), tamper);
  return t.request("POST", "/auth/passkeys/login/verify", { response });
}

export async function problemOf(response: Response): Promise<{ status: number; code: string }> {
  return { status: response.status, code: ((await response.json()) as { code: string }).code };
}
