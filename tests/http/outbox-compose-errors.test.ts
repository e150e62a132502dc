import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outboxAttempts, outboxMessages } from "../../src/db/tables/outbox.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createTestApp, newAccount, type TestApp } from "../support/test-app.ts";

/**
 * A compose intent is sealed because it names an address (and a registration's password hash). A composer that
 * fails on the database must not undo that: a failed query's message quotes its parameters (drizzle words it
 * "Failed query: <sql> params: <params>"), so only the error's kind and SQLSTATE may reach the outbox tables and the
 * log. The failures are made with triggers and a renamed column, standing in for a statement timeout or a failover.
 * Found by the attacker review of the compose lane.
 */
let t: TestApp;
const lines: string[] = [];
beforeAll(async () => {
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
  t = await createTestApp({ REQUIRE_EMAIL_VERIFICATION: "true" }, { logger });
});
afterAll(async () => {
  await t.close();
});

async function storedErrors(): Promise<string> {
  const rows = await t.db.select().from(outboxMessages).where(eq(outboxMessages.kind, "compose"));
  const attempts = await t.db.select().from(outboxAttempts);
  return [...rows.map((row) => row.lastError ?? ""), ...attempts.map((row) => row.error ?? "")].join("\n");
}

describe("a compose intent whose composition fails on the database", () => {
  it("a registration: the stored error names the SQLSTATE, never the password hash or the address", async () => {
    await t.db.execute(sql`create function refuse_insert() returns trigger language plpgsql as $$
      begin raise exception 'canceling statement due to statement timeout'; end $$`);
    await t.db.execute(sql`create trigger accounts_refuse before insert on accounts for each row execute function refuse_insert()`);
    try {
      const account = newAccount({ email: `registrant-${Date.now()}@example.com` });
      lines.length = 0;
      expect((await t.request("POST", "/auth/register", account)).status).toBe(202);
      await t.services.mail.drain();
      const stored = await storedErrors();
      expect(stored).toContain("(P0001)");
      for (const secret of ["$argon2id$", account.email]) {
        expect(stored).not.toContain(secret);
        expect(lines.join("\n")).not.toContain(secret);
      }
    } finally {
      await t.db.execute(sql`drop trigger accounts_refuse on accounts`);
    }
  });

  it("a verification resend whose lookup fails: the address is neither stored nor logged", async () => {
    await t.db.execute(sql`alter table users rename column ban_reason to ban_reason_renamed`);
    try {
      const email = `probe-${Date.now()}@example.com`;
      lines.length = 0;
      expect((await t.request("POST", "/auth/resend-verification", { email })).status).toBe(202);
      await t.services.mail.drain();
      const stored = await storedErrors();
      expect(stored).toContain("(42703)");
      expect(stored).not.toContain(email);
      expect(lines.join("\n")).not.toContain(email);
    } finally {
      await t.db.execute(sql`alter table users rename column ban_reason_renamed to ban_reason`);
    }
  });

  it("a password reset whose settling fails (the audit insert): the address is not logged", async () => {
    await t.db.execute(sql`create trigger audit_refuse before insert on audit_events for each row when (new.type = 'password.reset_requested') execute function refuse_insert()`);
    try {
      const email = `nobody-${Date.now()}@example.com`;
      lines.length = 0;
      expect((await t.request("POST", "/auth/forgot-password", { email })).status).toBe(202);
      await t.services.mail.drain();
      expect(lines.some((line) => line.includes("outbox attempt not recorded"))).toBe(true);
      expect(lines.join("\n")).not.toContain(email);
    } finally {
      await t.db.execute(sql`drop trigger audit_refuse on audit_events`);
    }
  });
});
