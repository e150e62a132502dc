import { bearer, type TestApp } from "./test-app.ts";

/** A personal API key made from `accessToken`'s (recent) session; returns the key and its listing. */
export async function createApiKey(t: TestApp, accessToken: string, body: Record<string, unknown> = {}) {
  const response = await t.request("POST", "/auth/api-keys", { name: "test key", ...body }, bearer(accessToken));
  if (response.status !== 201) throw new Error(`api key not created: ${response.status} ${await response.text()}`);
  return (await response.json()) as { key: string; apiKey: { id: string; name: string; prefix: string; scopes: string[]; expiresAt: string; lastUsedAt: string | null } };
}
