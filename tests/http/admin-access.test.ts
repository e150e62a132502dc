import { randomUUID } from "node:crypto";
import { desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxMessages } from "../../src/db/tables/outbox.ts";
import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { registerAdmin } from "../support/admin.ts";
import { bearer, createTestApp, newAccount, registerUser, type TestApp } from "../support/test-app.ts";

/**
 * Issue 17: every path of /openapi.json under /auth/admin answers 401 without a session, 403 FORBIDDEN for a signed-in
 * user who is not an administrator, and succeeds for an administrator. The list comes from the document, so a new
 * admin route is walked without being named here.
 */
let t: TestApp;
let admin: Awaited<ReturnType<typeof registerAdmin>>;
let plain: Awaited<ReturnType<typeof registerUser>>;
type Operation = { method: string; path: string };
let operations: Operation[] = [];

beforeAll(async () => {
  // Webhook endpoints on loopback (nothing listens on the discard port: deliveries just fail).
  t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" });
  admin = await registerAdmin(t);
  plain = await registerUser(t);
  const document = (await (await t.request("GET", "/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
  operations = Object.entries(document.paths)
    .filter(([path]) => path.startsWith("/auth/admin"))
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
});
afterAll(async () => {
  await t.close();
});

/** A body the operation accepts. */
function bodyFor({ method, path }: Operation): unknown {
  if (method === "POST" && path === "/auth/admin/users") return newAccount();
  if (method === "POST" && path === "/auth/admin/clients") return { name: "access test", scopes: ["a"] };
  if (method === "PATCH" && path.startsWith("/auth/admin/clients/")) return { name: "renamed client" };
  if (method === "POST" && path === "/auth/admin/webhooks") return { url: WEBHOOK_URL };
  if (method === "PATCH") return { username: `renamed_${Date.now().toString(36)}` };
  if (path.endsWith("/ban") || path.endsWith("/impersonate")) return { reason: "support ticket 42" };
  return undefined;
}

const WEBHOOK_URL = "http://127.0.0.1:9/hooks";
const SYSTEM_ACTOR = { adminId: null, audit: SYSTEM_AUDIT_CONTEXT };

/** A settled outbox row of `kind` (a failed mail, a webhook delivery) for the retry routes. */
async function failedOutboxRow(kind: "mail" | "webhook"): Promise<string> {
  const id = randomUUID();
  if (kind === "mail") await t.services.mail.enqueue({ to: "x@example.com", subject: "s", text: "t", html: "h" }, t.db);
  const { endpoint } = await t.services.webhooks.create({ url: WEBHOOK_URL, eventTypes: [] }, SYSTEM_ACTOR);
  if (kind === "webhook") await t.services.outboxStore.add(t.db, [{ id, kind, payload: JSON.stringify({ type: "webhook.test", timestamp: "", data: {} }), endpointId: endpoint.id }], new Date());
  const [row] = await t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, kind)).orderBy(desc(outboxMessages.createdAt)).limit(1);
  // Settled by hand, not through markFailed: the worker may have claimed or delivered the row already, and the
  // store's settling is fenced by the claim (it would then change nothing and the retry would find no failed row).
  await t.db.update(outboxMessages).set({ status: "failed", finishedAt: new Date(), lastError: "test" }).where(eq(outboxMessages.id, row?.id ?? id));
  return row?.id ?? id;
}

/** The operation's path for a fresh target (a user and one of their sessions, a machine client, a webhook endpoint, a failed delivery). */
async function concretePath({ path }: Operation): Promise<string> {
  if (path.startsWith("/auth/admin/clients/")) {
    const { client } = await t.services.oauthClients.create({ name: "target", scopes: [] }, SYSTEM_ACTOR);
    return path.replace("{id}", client.id);
  }
  if (path.startsWith("/auth/admin/webhooks/{id}")) {
    const { endpoint } = await t.services.webhooks.create({ url: WEBHOOK_URL, eventTypes: [] }, SYSTEM_ACTOR);
    return path.replace("{id}", endpoint.id);
  }
  if (path.startsWith("/auth/admin/mail/{id}")) return path.replace("{id}", await failedOutboxRow("mail"));
  if (path.startsWith("/auth/admin/webhook-deliveries/{id}")) return path.replace("{id}", await failedOutboxRow("webhook"));
  const target = await registerUser(t);
  const { sid } = JSON.parse(Buffer.from(target.accessToken.split(".")[1] ?? "", "base64url").toString()) as { sid: string };
  return path.replace("{id}", target.user.id).replace("{sid}", sid);
}

describe("every /auth/admin operation of the OpenAPI document", () => {
  it("covers the contract's routes", () => {
    expect(operations.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      "DELETE /auth/admin/clients/{id}",
      "DELETE /auth/admin/users/{id}",
      "DELETE /auth/admin/users/{id}/mfa",
      "DELETE /auth/admin/users/{id}/sessions",
      "DELETE /auth/admin/users/{id}/sessions/{sid}",
      "DELETE /auth/admin/webhooks/{id}",
      "GET /auth/admin/audit",
      "GET /auth/admin/clients",
      "GET /auth/admin/clients/{id}",
      "GET /auth/admin/mail/failed",
      "GET /auth/admin/users",
      "GET /auth/admin/users/{id}",
      "GET /auth/admin/users/{id}/sessions",
      "GET /auth/admin/webhooks",
      "GET /auth/admin/webhooks/{id}",
      "GET /auth/admin/webhooks/{id}/deliveries",
      "PATCH /auth/admin/clients/{id}",
      "PATCH /auth/admin/users/{id}",
      "PATCH /auth/admin/webhooks/{id}",
      "POST /auth/admin/clients",
      "POST /auth/admin/clients/{id}/rotate-secret",
      "POST /auth/admin/mail/{id}/retry",
      "POST /auth/admin/users",
      "POST /auth/admin/users/{id}/ban",
      "POST /auth/admin/users/{id}/impersonate",
      "POST /auth/admin/users/{id}/password-reset",
      "POST /auth/admin/users/{id}/unban",
      "POST /auth/admin/webhook-deliveries/{id}/retry",
      "POST /auth/admin/webhooks",
      "POST /auth/admin/webhooks/{id}/rotate-secret",
      "POST /auth/admin/webhooks/{id}/test",
    ]);
  });

  it("answers 401 UNAUTHENTICATED without a session", async () => {
    for (const operation of operations) {
      const response = await t.request(operation.method, await concretePath(operation), bodyFor(operation));
      expect(response.status, `${operation.method} ${operation.path}`).toBe(401);
      expect((await response.json()).code).toBe("UNAUTHENTICATED");
    }
  });

  it("answers 403 FORBIDDEN to a signed-in user without the admin role", async () => {
    for (const operation of operations) {
      const response = await t.request(operation.method, await concretePath(operation), bodyFor(operation), bearer(plain.accessToken));
      expect(response.status, `${operation.method} ${operation.path}`).toBe(403);
      expect((await response.json()).code).toBe("FORBIDDEN");
    }
  });

  it("succeeds for an administrator", async () => {
    for (const operation of operations) {
      const response = await t.request(operation.method, await concretePath(operation), bodyFor(operation), bearer(admin.accessToken));
      expect(response.status, `${operation.method} ${operation.path}: ${await response.clone().text()}`).toBeGreaterThanOrEqual(200);
      expect(response.status).toBeLessThan(300);
    }
  });
});

describe("rate limit", () => {
  it("RATE_LIMIT_ADMIN_SESSION counts admin requests per session", async () => {
    const limited = await createTestApp({ RATE_LIMIT_ADMIN_SESSION: "2/60" });
    try {
      const { accessToken } = await registerAdmin(limited);
      const { accessToken: other } = await registerAdmin(limited);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await limited.request("GET", "/auth/admin/users", undefined, bearer(accessToken))).status);
      expect(statuses).toEqual([200, 200, 429]);
      // Another administrator's session has its own budget.
      expect((await limited.request("GET", "/auth/admin/users", undefined, bearer(other))).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
