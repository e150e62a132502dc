import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import type { MailMessage } from "../delivery/mailer.ts";
import { mails, tokenLink } from "../delivery/templates.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { UserRow } from "./users.ts";
import type { VerificationTokens } from "./verification-tokens.ts";

export type EmailVerificationDeps = {
  db: Database;
  tokens: VerificationTokens;
  mail: MailOutbox;
  bus: RevocationBus;
  /** The link template, "{token}" where the token goes. */
  link: string;
  ttlSeconds: number;
};

/**
 * Proof that the user reads the address on file. The token names the address it was sent to, so a link mailed
 * to an earlier address cannot verify the current one after an email change.
 */
export function createEmailVerification({ db, tokens, mail, bus, link, ttlSeconds }: EmailVerificationDeps) {
  /**
   * Marks the address verified if it is still the user's, and tells every instance to forget its cached copy of
   * the user. Null when the user is gone or has another address now.
   */
  async function markVerified(userId: string, email: string): Promise<UserRow | null> {
    const [verified] = await db
      .update(users)
      .set({ emailVerified: true })
      .where(and(eq(users.id, userId), eq(users.email, email)))
      .returning();
    if (verified === undefined) return null;
    await bus.publish({ kind: "user", userId });
    return verified;
  }

  /** The verification mail for the user's current address, with a newly issued token. */
  async function message(user: Pick<UserRow, "id" | "email">): Promise<MailMessage> {
    const token = await tokens.issue("verify-email", JSON.stringify({ userId: user.id, email: user.email }), ttlSeconds);
    return mails.verifyEmail(user.email, tokenLink(link, token), ttlSeconds);
  }

  return {
    async send(user: Pick<UserRow, "id" | "email">): Promise<void> {
      await mail.enqueue(await message(user));
    },

    message,

    /** The verified user, or null for an unknown, used, expired or outdated token. */
    async verify(token: string): Promise<UserRow | null> {
      const value = await tokens.consume("verify-email", token);
      if (value === null) return null;
      const { userId, email } = JSON.parse(value) as { userId: string; email: string };
      return markVerified(userId, email);
    },

    markVerified,
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
