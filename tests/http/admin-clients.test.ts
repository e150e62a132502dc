import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oauthClients } from "../../src/db/tables/machine.ts";
import { asAdmin } from "../support/admin.ts";
import { registerClient } from "../support/oauth2.ts";
import { createTestApp, type TestApp } from "../support/test-app.ts";

/** Issue 19: what the admin API shows of a machine client: its settings, never its secret. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("GET /auth/admin/clients and /auth/admin/clients/{id}", () => {
  it("show the client's name, scopes, token lifetime, disabled state and timestamps, never its secret or the secret's hash", async () => {
    const { clientId, clientSecret, adminToken } = await registerClient(t, { name: "nightly export", scopes: ["reports:read"], accessTokenTtl: 120 });
    const admin = asAdmin(t, adminToken);
    expect((await admin("PATCH", `/auth/admin/clients/${clientId}`, { disabled: true })).status).toBe(200);
    const [row] = await t.db.select().from(oauthClients).where(eq(oauthClients.id, clientId));
    if (row === undefined) throw new Error("the client is not stored");
    const expected = {
      id: clientId,
      name: "nightly export",
      scopes: ["reports:read"],
      accessTokenTtl: 120,
      disabled: true,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };

    const detail = await admin("GET", `/auth/admin/clients/${clientId}`);
    expect(detail.status).toBe(200);
    const detailText = await detail.text();
    expect(JSON.parse(detailText)).toEqual({ client: expected });

    const list = await admin("GET", "/auth/admin/clients");
    expect(list.status).toBe(200);
    const listText = await list.text();
    expect((JSON.parse(listText) as { clients: unknown[] }).clients).toContainEqual(expected);

    for (const body of [detailText, listText]) {
      expect(body).not.toContain(clientSecret);
      expect(body).not.toContain(row.secretHash);
      expect(body).not.toMatch(/secret/i);
    }
  });

  it("shows an enabled client with the default token lifetime as such", async () => {
    const { clientId, adminToken } = await registerClient(t);
    const { client } = await (await asAdmin(t, adminToken)("GET", `/auth/admin/clients/${clientId}`)).json();
    expect(client).toMatchObject({ disabled: false, accessTokenTtl: null, scopes: ["reports:read", "reports:write"] });
  });

  it("answers NOT_FOUND for an unknown client", async () => {
    const { adminToken } = await registerClient(t);
    const response = await asAdmin(t, adminToken)("GET", "/auth/admin/clients/00000000-0000-4000-8000-000000000000");
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
  });
});
