import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../src/db/schema.ts";
import { createApiKey } from "../support/api-keys.ts";
import { registerClient } from "../support/oauth2.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";
import { getTableName } from "drizzle-orm";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

/** Every row of every table, as JSON text. */
async function dumpDatabase(): Promise<string> {
  const parts: string[] = [];
  for (const table of Object.values(schema)) {
    const result = await t.db.execute(sql.raw(`select row_to_json(t)::text as row from "${getTableName(table)}" t`));
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { row: string }[];
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join("\n");
}

describe("credentials at rest", () => {
  it("stores no token or password a client received in plaintext", async () => {
    const registered = await registerUser(t);
    const login = await (await t.request("POST", "/auth/login", registered.account)).json();
    const refreshed = await (await t.request("POST", "/auth/refresh", { refreshToken: login.refreshToken })).json();
    await t.request("POST", "/auth/forgot-password", { email: registered.account.email });
    await t.services.mail.drain();
    const mailed = (subject: string, path: string) => {
      const mail = t.sentMail.find((m) => m.to === registered.account.email && m.subject === subject);
      if (mail === undefined) throw new Error(`no "${subject}" mail`);
      return tokenFrom(mail, path);
    };
    const { key } = await createApiKey(t, registered.accessToken);
    const client = await registerClient(t);
    const rotated = await (await t.request("POST", `/auth/admin/clients/${client.clientId}/rotate-secret`, undefined, { authorization: `Bearer ${client.adminToken}` })).json();
    const secrets = [
      key,
      key.slice(25, 68), // the key's secret part alone
      client.clientSecret,
      rotated.clientSecret,
      registered.accessToken,
      registered.refreshToken,
      registered.cookies["servauth.session"],
      registered.cookies["servauth.refresh"],
      login.accessToken,
      login.refreshToken,
      refreshed.accessToken,
      refreshed.refreshToken,
      registered.account.password,
      mailed("Reset your password", "/reset-password"),
      mailed("Confirm your email address", "/verify-email"),
    ];
    const dump = await dumpDatabase();
    expect(dump).toContain(registered.user.id); // the dump did read the rows
    expect(dump).toContain("$argon2id$");
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(dump).not.toContain(secret);
    }
  });
});
