import { registerAdmin } from "./admin.ts";
import { bearer, type TestApp } from "./test-app.ts";

/** A machine client registered through the admin API, with its secret. */
export async function registerClient(t: TestApp, body: Record<string, unknown> = {}, adminToken?: string) {
  const token = adminToken ?? (await registerAdmin(t)).accessToken;
  const response = await t.request("POST", "/auth/admin/clients", { name: "reporting job", scopes: ["reports:read", "reports:write"], ...body }, bearer(token));
  if (response.status !== 201) throw new Error(`client not registered: ${response.status} ${await response.text()}`);
  const created = (await response.json()) as { client: { id: string; scopes: string[] }; clientSecret: string };
  return { clientId: created.client.id, clientSecret: created.clientSecret, client: created.client, adminToken: token };
}

/** A form POST, the way OAuth clients send it. */
export function postForm(t: TestApp, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return t.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** client_secret_basic: each part form-urlencoded, then base64 (RFC 6749 section 2.3.1). */
export const basicAuth = (clientId: string, clientSecret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`,
});
