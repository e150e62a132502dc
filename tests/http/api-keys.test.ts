import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "../../src/db/tables/machine.ts";
import { registerAdmin } from "../support/admin.ts";
import { createApiKey } from "../support/api-keys.ts";
import { auditEvents } from "../../src/db/tables/audit-events.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { bearer, createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

/** Issue 19: personal API keys. */

let offsetMs = 0;
/** The services' clock: moved past a key's expiry instead of waiting for it. */
const clock = () => new Date(Date.now() + offsetMs);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ API_KEYS_PER_USER: "3", API_KEY_MAX_TTL: "86400" }, { now: clock });
});
afterAll(async () => {
  await t.close();
});

const me = (key: string) => t.request("GET", "/auth/me", undefined, bearer(key));

/** The same key with one character of its secret part changed, the checksum recomputed or not. */
function withOtherCharacter(key: string, index: number): string {
  const replacement = key[index] === "A" ? "B" : "A";
  return key.slice(0, index) + replacement + key.slice(index + 1);
}

describe("POST /auth/api-keys", () => {
  it("answers the key once, in the sa_ format, and lists it without the key", async () => {
    const { accessToken, user } = await registerUser(t);
    const created = await createApiKey(t, accessToken, { name: "deploy", scopes: ["reports:read", "reports:read"] });
    expect(created.key).toMatch(/^sa_[0-9A-Za-z]{71}$/);
    expect(created.apiKey).toMatchObject({ name: "deploy", scopes: ["reports:read"], lastUsedAt: null, prefix: created.key.slice(0, 11) });
    const listed = await (await t.request("GET", "/auth/api-keys", undefined, bearer(accessToken))).json();
    expect(listed.apiKeys).toEqual([created.apiKey]);
    expect(JSON.stringify(listed)).not.toContain(created.key.slice(11));
    const [row] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, created.apiKey.id));
    expect(row?.userId).toBe(user.id);
    expect(row?.secretHash).not.toContain(created.key.slice(11, 40));
  });

  it("gives every key its own 256-bit secret", async () => {
    const { accessToken } = await registerUser(t);
    const a = await createApiKey(t, accessToken);
    const b = await createApiKey(t, accessToken);
    expect(a.key.slice(25, 68)).not.toBe(b.key.slice(25, 68));
  });

  it("refuses a lifetime past API_KEY_MAX_TTL or in the past, and bad scopes (400)", async () => {
    const { accessToken } = await registerUser(t);
    for (const body of [
      { name: "x", expiresAt: new Date(Date.now() + 2 * 86_400_000).toISOString() },
      { name: "x", expiresAt: new Date(Date.now() - 1000).toISOString() },
      { name: "x", scopes: ["has space"] },
      { name: "" },
    ]) {
      const response = await t.request("POST", "/auth/api-keys", body, bearer(accessToken));
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).code).toBe("VALIDATION_FAILED");
    }
  });

  it("refuses more than API_KEYS_PER_USER live keys (409), and a revoked one frees its place", async () => {
    const { accessToken } = await registerUser(t);
    const keys = [await createApiKey(t, accessToken), await createApiKey(t, accessToken), await createApiKey(t, accessToken)];
    const fourth = await t.request("POST", "/auth/api-keys", { name: "one too many" }, bearer(accessToken));
    expect(fourth.status).toBe(409);
    expect((await fourth.json()).code).toBe("TOO_MANY_API_KEYS");
    expect((await t.request("DELETE", `/auth/api-keys/${keys[0]?.apiKey.id}`, undefined, bearer(accessToken))).status).toBe(204);
    await createApiKey(t, accessToken);
  });

  it("needs a recent authentication (step-up)", async () => {
    const { accessToken } = await registerUser(t);
    offsetMs = 3600_000;
    try {
      const response = await t.request("POST", "/auth/api-keys", { name: "late" }, bearer(accessToken));
      expect(response.status).toBe(401);
      expect((await response.json()).code).toBe("STEP_UP_REQUIRED");
    } finally {
      offsetMs = 0;
    }
  });
});

describe("Authorization: Bearer sa_...", () => {
  it("is the owner on GET /auth/me, with amr [key] and the key's lifetime", async () => {
    const { accessToken, user } = await registerUser(t);
    const { key, apiKey } = await createApiKey(t, accessToken);
    const response = await me(key);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user.id).toBe(user.id);
    expect(body.session).toMatchObject({ id: apiKey.id, amr: ["key"], aal: 1, expiresAt: apiKey.expiresAt });
  });

  it("matches only the stored hash as it was written: a padded or re-spelt copy of it (same bytes) matches no key", async () => {
    const { accessToken } = await registerUser(t);
    for (const respell of [(hash: string) => `${hash}=`, (hash: string) => `${hash.slice(0, 20)}\n${hash.slice(20)}`]) {
      const { key, apiKey } = await createApiKey(t, accessToken);
      const [row] = await t.db.select().from(apiKeys).where(eq(apiKeys.id, apiKey.id));
      const respelt = respell(row!.secretHash);
      expect(Buffer.from(respelt, "base64url")).toEqual(Buffer.from(row!.secretHash, "base64url"));
      await t.db.update(apiKeys).set({ secretHash: respelt }).where(eq(apiKeys.id, apiKey.id));
      expect((await me(key)).status).toBe(401);
    }
  });

  it("refuses a typo (checksum), a forged secret with a valid checksum, an unknown id and junk with 401", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    const other = await createApiKey(t, accessToken);
    // Another key's secret and checksum behind this key's id: well-formed, wrong secret.
    const forged = key.slice(0, 25) + other.key.slice(25);
    const unknownId = `sa_${"1".repeat(22)}${key.slice(25)}`;
    for (const bad of [withOtherCharacter(key, 40), forged, unknownId, "sa_", `${key}x`, key.toLowerCase()]) {
      const response = await me(bad);
      expect(response.status, bad).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("Bearer");
    }
  });

  it.each([
    ["POST", "/auth/api-keys", { name: "another" }],
    ["GET", "/auth/api-keys", undefined],
    ["PUT", "/auth/me", { email: "new-address@example.com", currentPassword: "correct horse battery staple" }],
    ["POST", "/auth/change-password", { currentPassword: "correct horse battery staple", newPassword: "another long passphrase" }],
    ["DELETE", "/auth/me", { password: "correct horse battery staple" }],
    ["DELETE", "/auth/sessions", undefined],
    ["POST", "/auth/reauthenticate", { password: "correct horse battery staple" }],
    ["POST", "/auth/mfa/totp/setup", undefined],
    ["POST", "/auth/mfa/totp/confirm", { code: "123456" }],
    ["POST", "/auth/mfa/email/enable", undefined],
    ["POST", "/auth/mfa/recovery-codes", undefined],
    ["POST", "/auth/logout", undefined],
  ])("is refused on %s %s with 403 FORBIDDEN_FOR_API_KEY", async (method, path, body) => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken);
    const response = await t.request(method, path, body, bearer(key));
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe("FORBIDDEN_FOR_API_KEY");
    // Nothing happened: the password is unchanged and the key still works.
    expect((await me(key)).status).toBe(200);
  });

  it("never opens the admin API, not even an administrator's key", async () => {
    const admin = await registerAdmin(t);
    const { key } = await createApiKey(t, admin.accessToken);
    for (const path of ["/auth/admin/users", "/auth/admin/clients"]) {
      const response = await t.request("GET", path, undefined, bearer(key));
      expect(response.status).toBe(403);
      expect((await response.json()).code).toBe("FORBIDDEN_FOR_API_KEY");
    }
  });

  it("stops working at once when revoked; another user's key answers 404; a revoked key's use is audited", async () => {
    const { accessToken, user } = await registerUser(t);
    const stranger = await registerUser(t);
    const { key, apiKey } = await createApiKey(t, accessToken);
    expect((await me(key)).status).toBe(200); // now cached
    expect((await t.request("DELETE", `/auth/api-keys/${apiKey.id}`, undefined, bearer(stranger.accessToken))).status).toBe(404);
    expect((await t.request("DELETE", "/auth/api-keys/not-a-uuid", undefined, bearer(accessToken))).status).toBe(404);
    expect((await me(key)).status).toBe(200);
    expect((await t.request("DELETE", `/auth/api-keys/${apiKey.id}`, undefined, bearer(accessToken))).status).toBe(204);
    expect((await me(key)).status).toBe(401);
    expect((await t.request("DELETE", `/auth/api-keys/${apiKey.id}`, undefined, bearer(accessToken))).status).toBe(404);
    const audit = await (await t.request("GET", "/auth/audit", undefined, bearer(accessToken))).json();
    const types = audit.events.map((event: { type: string }) => event.type);
    expect(types).toEqual(expect.arrayContaining(["api_key.created", "api_key.deleted", "api_key.used_after_revoke"]));
    expect(audit.events.every((event: { userId?: string }) => event.userId === undefined || event.userId === user.id)).toBe(true);
  });

  it("dies with its owner's ban, and with the owner's account", async () => {
    const admin = await registerAdmin(t);
    const owner = await registerUser(t);
    const { key } = await createApiKey(t, owner.accessToken);
    expect((await me(key)).status).toBe(200);
    expect((await t.request("POST", `/auth/admin/users/${owner.user.id}/ban`, { reason: "abuse" }, bearer(admin.accessToken))).status).toBe(200);
    const banned = await me(key);
    expect(banned.status).toBe(403);
    expect((await banned.json()).code).toBe("ACCOUNT_BANNED");
    expect((await t.request("DELETE", `/auth/admin/users/${owner.user.id}`, undefined, bearer(admin.accessToken))).status).toBe(204);
    expect((await me(key)).status).toBe(401);
  });

  it("sees the owner's role change at once (cached user dropped by the bus)", async () => {
    const admin = await registerAdmin(t);
    const owner = await registerUser(t);
    const { key } = await createApiKey(t, owner.accessToken);
    expect((await me(key)).status).toBe(200);
    const changed = await t.request("PATCH", `/auth/admin/users/${owner.user.id}`, { username: "renamed_by_admin" }, bearer(admin.accessToken));
    expect(changed.status).toBe(200);
    expect((await (await me(key)).json()).user.username).toBe("renamed_by_admin");
  });

  it("expires at its expiresAt", async () => {
    const { accessToken } = await registerUser(t);
    const { key } = await createApiKey(t, accessToken, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await me(key)).status).toBe(200);
    offsetMs = 61_000;
    try {
      expect((await me(key)).status).toBe(401);
    } finally {
      offsetMs = 0;
    }
  });

  it("records lastUsedAt in the background, not on every request", async () => {
    const { accessToken } = await registerUser(t);
    const { key, apiKey } = await createApiKey(t, accessToken);
    const lastUsed = async () => (await t.db.select({ at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.id, apiKey.id)))[0]?.at ?? null;
    expect((await me(key)).status).toBe(200);
    await expect.poll(lastUsed).not.toBeNull();
    const first = await lastUsed();
    for (let i = 0; i < 5; i += 1) expect((await me(key)).status).toBe(200);
    expect(await lastUsed()).toEqual(first);
  });
});

/** A user with two keys, both already working (so cached: the revocation must reach the cache, not only the table). */
async function ownerWithKeys() {
  const owner = await registerUser(t);
  const keys = [(await createApiKey(t, owner.accessToken)).key, (await createApiKey(t, owner.accessToken)).key];
  for (const key of keys) expect((await me(key)).status).toBe(200);
  return { ...owner, keys };
}

/** The single api_key.deleted event recording a revocation of all the user's keys. */
async function revokedAllEvents(userId: string) {
  const rows = await t.db.select().from(auditEvents).where(eq(auditEvents.userId, userId));
  return rows.filter((row) => row.type === "api_key.deleted");
}

describe("taking an account back ends every API key", () => {
  it("an administrator ending all the user's sessions revokes their keys (401 at once), audited once with the admin", async () => {
    const admin = await registerAdmin(t);
    const owner = await ownerWithKeys();
    const bystander = await ownerWithKeys();
    expect((await t.request("DELETE", `/auth/admin/users/${owner.user.id}/sessions`, undefined, bearer(admin.accessToken))).status).toBe(204);
    for (const key of owner.keys) expect((await me(key)).status).toBe(401);
    for (const key of bystander.keys) expect((await me(key)).status).toBe(200);
    const [event, ...more] = await revokedAllEvents(owner.user.id);
    expect(more).toHaveLength(0);
    expect(event).toMatchObject({ actorId: admin.user.id, payload: { reason: "admin_sessions_revoked" } });
    expect((event?.payload as { apiKeyIds: string[] }).apiKeyIds).toHaveLength(2);
  });

  it("a password reset revokes the user's keys", async () => {
    const owner = await ownerWithKeys();
    expect((await t.request("POST", "/auth/forgot-password", { email: owner.account.email })).status).toBe(202);
    const find = () => t.sentMail.find((mail) => mail.to === owner.account.email && mail.subject === "Reset your password");
    await expect.poll(() => find() !== undefined).toBe(true);
    const token = tokenFrom(find() as { text: string }, "/reset-password");
    expect((await t.request("POST", "/auth/reset-password", { token, password: "a brand new password" })).status).toBe(204);
    for (const key of owner.keys) expect((await me(key)).status).toBe(401);
    expect(await revokedAllEvents(owner.user.id)).toMatchObject([{ payload: { reason: "password_reset" } }]);
  });

  it("a password change that signs out everywhere else revokes the keys; one that does not keeps them", async () => {
    const owner = await ownerWithKeys();
    const keep = { currentPassword: owner.account.password, newPassword: "changed password 1" };
    expect((await t.request("POST", "/auth/change-password", keep, bearer(owner.accessToken))).status).toBe(204);
    for (const key of owner.keys) expect((await me(key)).status).toBe(200);
    const everywhere = { currentPassword: "changed password 1", newPassword: "changed password 2", revokeOtherSessions: true };
    expect((await t.request("POST", "/auth/change-password", everywhere, bearer(owner.accessToken))).status).toBe(204);
    for (const key of owner.keys) expect((await me(key)).status).toBe(401);
    expect((await me(owner.accessToken)).status).toBe(200);
    expect(await revokedAllEvents(owner.user.id)).toMatchObject([{ payload: { reason: "password_changed" } }]);
  });

  it("an administrator's reset of the second factors revokes the user's keys", async () => {
    const admin = await registerAdmin(t);
    const owner = await ownerWithKeys();
    expect((await t.request("DELETE", `/auth/admin/users/${owner.user.id}/mfa`, undefined, bearer(admin.accessToken))).status).toBe(204);
    for (const key of owner.keys) expect((await me(key)).status).toBe(401);
    expect(await revokedAllEvents(owner.user.id)).toMatchObject([{ actorId: admin.user.id, payload: { reason: "admin_mfa_reset" } }]);
  });

  it("a key made after the recovery works, and a user without keys gets no audit event", async () => {
    const admin = await registerAdmin(t);
    const owner = await registerUser(t);
    expect((await t.request("DELETE", `/auth/admin/users/${owner.user.id}/sessions`, undefined, bearer(admin.accessToken))).status).toBe(204);
    expect(await revokedAllEvents(owner.user.id)).toHaveLength(0);
    const fresh = await login(owner.account.email, owner.account.password);
    const { key } = await createApiKey(t, fresh);
    expect((await me(key)).status).toBe(200);
  });
});

async function login(email: string, password: string): Promise<string> {
  const response = await t.request("POST", "/auth/login", { email, password });
  if (response.status !== 200) throw new Error(`login ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

describe("purge", () => {
  it("deletes keys revoked or expired longer than AUDIT_RETENTION_DAYS ago, and no live one", async () => {
    const { accessToken } = await registerUser(t);
    const revoked = await createApiKey(t, accessToken);
    const live = await createApiKey(t, accessToken);
    await t.request("DELETE", `/auth/api-keys/${revoked.apiKey.id}`, undefined, bearer(accessToken));
    const rowsOf = async (id: string) => (await t.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.id, id))).length;
    await t.services.apiKeys.purgeEnded(90);
    expect(await rowsOf(revoked.apiKey.id)).toBe(1);
    offsetMs = 92 * 86_400_000; // well past both ends: revoked 92 days ago, expired 91 days ago
    try {
      await t.services.apiKeys.purgeEnded(90);
    } finally {
      offsetMs = 0;
    }
    expect(await rowsOf(revoked.apiKey.id)).toBe(0);
    // Expired a day after its creation (API_KEY_MAX_TTL here), so 92 days later it went too; a fresh one stays.
    expect(await rowsOf(live.apiKey.id)).toBe(0);
    const fresh = await createApiKey(t, accessToken);
    await t.services.apiKeys.purgeEnded(90);
    expect(await rowsOf(fresh.apiKey.id)).toBe(1);
  });
});

describe("RATE_LIMIT_API_KEY", () => {
  it("limits each key on its own", async () => {
    const limited = await createTestApp({ RATE_LIMIT_API_KEY: "2/60" });
    try {
      const { accessToken } = await registerUser(limited);
      const { key } = await createApiKey(limited, accessToken);
      const other = await createApiKey(limited, accessToken);
      const get = (k: string) => limited.request("GET", "/auth/me", undefined, bearer(k));
      expect((await get(key)).status).toBe(200);
      expect((await get(key)).status).toBe(200);
      const refused = await get(key);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      expect((await get(other.key)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
