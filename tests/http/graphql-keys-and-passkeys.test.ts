import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codesOf, graphql, restCode } from "../support/graphql.ts";
import { addPasskey, newAuthenticator, type PasskeyJson } from "../support/passkeys.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** Issue 21 over what issues 16 and 19 added: Me.passkeys, renamePasskey, Me.apiKeys, deleteApiKey beside their REST twins. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

type ApiKeyJson = { id: string; name: string; prefix: string; scopes: string[]; createdAt: string; expiresAt: string; lastUsedAt: string | null };

async function userWithKey() {
  const user = await registerUser(t);
  const created = await t.request("POST", "/auth/api-keys", { name: "ci", scopes: ["deploy"] }, bearer(user.accessToken));
  expect(created.status).toBe(201);
  const { apiKey, key } = (await created.json()) as { apiKey: ApiKeyJson; key: string };
  return { ...user, apiKey, key };
}

describe("passkeys", () => {
  it("Me.passkeys lists what GET /auth/passkeys lists; renamePasskey renames as PATCH does, NOT_FOUND and VALIDATION_FAILED alike", async () => {
    const { accessToken } = await registerUser(t);
    const passkey = await addPasskey(t, accessToken, newAuthenticator(), { name: "Laptop" });
    const rest = ((await (await t.request("GET", "/auth/passkeys", undefined, bearer(accessToken))).json()) as { passkeys: PasskeyJson[] }).passkeys;
    const fields = "id name createdAt lastUsedAt backedUp deviceType transports";
    const listed = await graphql<{ me: { passkeys: PasskeyJson[] } }>(t, `{ me { passkeys { ${fields} } } }`, { token: accessToken });
    expect(listed.data?.me.passkeys).toEqual(rest);

    const renamed = await graphql<{ renamePasskey: { name: string } }>(t, `mutation { renamePasskey(id: "${passkey.id}", name: "Desk key") { name } }`, { token: accessToken });
    expect(renamed.data?.renamePasskey).toEqual({ name: "Desk key" });
    const after = ((await (await t.request("GET", "/auth/passkeys", undefined, bearer(accessToken))).json()) as { passkeys: PasskeyJson[] }).passkeys;
    expect(after.map(({ name }) => name)).toEqual(["Desk key"]);

    const stranger = await registerUser(t);
    expect(await restCode(await t.request("PATCH", `/auth/passkeys/${passkey.id}`, { name: "mine" }, bearer(stranger.accessToken)))).toBe("NOT_FOUND");
    expect(codesOf(await graphql(t, `mutation { renamePasskey(id: "${passkey.id}", name: "mine") { id } }`, { token: stranger.accessToken }))).toEqual(["NOT_FOUND"]);
    expect(await restCode(await t.request("PATCH", `/auth/passkeys/${passkey.id}`, { name: "" }, bearer(accessToken)))).toBe("VALIDATION_FAILED");
    expect(codesOf(await graphql(t, `mutation { renamePasskey(id: "${passkey.id}", name: "") { id } }`, { token: accessToken }))).toEqual(["VALIDATION_FAILED"]);
  });
});

describe("API keys", () => {
  it("Me.apiKeys lists what GET /auth/api-keys lists, never the key; deleteApiKey revokes as DELETE does", async () => {
    const { accessToken, apiKey, key } = await userWithKey();
    const rest = ((await (await t.request("GET", "/auth/api-keys", undefined, bearer(accessToken))).json()) as { apiKeys: ApiKeyJson[] }).apiKeys;
    const listed = await graphql<{ me: { apiKeys: ApiKeyJson[] } }>(t, "{ me { apiKeys { id name prefix scopes createdAt expiresAt lastUsedAt } } }", { token: accessToken });
    expect(listed.data?.me.apiKeys).toEqual(rest);
    expect(JSON.stringify(listed)).not.toContain(key);

    const stranger = await registerUser(t);
    expect(codesOf(await graphql(t, `mutation { deleteApiKey(id: "${apiKey.id}") }`, { token: stranger.accessToken }))).toEqual(["NOT_FOUND"]);
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(200);
    expect((await graphql(t, `mutation { deleteApiKey(id: "${apiKey.id}") }`, { token: accessToken })).data).toEqual({ deleteApiKey: true });
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(401);
    expect(codesOf(await graphql(t, `mutation { deleteApiKey(id: "${apiKey.id}") }`, { token: accessToken }))).toEqual(["NOT_FOUND"]);
  });

  it("a key reads `me` but manages neither keys nor passkeys nor sessions, over REST and GraphQL alike (FORBIDDEN_FOR_API_KEY)", async () => {
    const { accessToken, apiKey, key, user } = await userWithKey();
    const passkey = await addPasskey(t, accessToken, newAuthenticator());
    expect((await graphql<{ me: { id: string } }>(t, "{ me { id } }", { token: key })).data?.me.id).toBe(user.id);

    expect(await restCode(await t.request("GET", "/auth/api-keys", undefined, bearer(key)))).toBe("FORBIDDEN_FOR_API_KEY");
    expect(codesOf(await graphql(t, "{ me { apiKeys { id } } }", { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    expect(await restCode(await t.request("DELETE", `/auth/api-keys/${apiKey.id}`, undefined, bearer(key)))).toBe("FORBIDDEN_FOR_API_KEY");
    expect(codesOf(await graphql(t, `mutation { deleteApiKey(id: "${apiKey.id}") }`, { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    expect(await restCode(await t.request("PATCH", `/auth/passkeys/${passkey.id}`, { name: "x" }, bearer(key)))).toBe("FORBIDDEN_FOR_API_KEY");
    expect(codesOf(await graphql(t, `mutation { renamePasskey(id: "${passkey.id}", name: "x") { id } }`, { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    expect(await restCode(await t.request("POST", "/auth/logout", undefined, bearer(key)))).toBe("FORBIDDEN_FOR_API_KEY");
    expect(codesOf(await graphql(t, "mutation { logout }", { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    expect(codesOf(await graphql(t, "{ users(first: 1) { nodes { id } } }", { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    const sessionId = (JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString()) as { sid: string }).sid;
    expect(await restCode(await t.request("DELETE", `/auth/sessions/${sessionId}`, undefined, bearer(key)))).toBe("FORBIDDEN_FOR_API_KEY");
    expect(codesOf(await graphql(t, `mutation { revokeSession(id: "${sessionId}") }`, { token: key }))).toEqual(["FORBIDDEN_FOR_API_KEY"]);
    expect((await t.request("GET", "/auth/me", undefined, bearer(accessToken))).status).toBe(200);
    expect((await t.request("GET", "/auth/me", undefined, bearer(key))).status).toBe(200);
  });
});
