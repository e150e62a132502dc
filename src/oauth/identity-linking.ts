import { eq } from "drizzle-orm";
import type { AccountClaim } from "../auth/account-claim.ts";
import { findUserByEmail, findUserById, type UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { users } from "../db/tables/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { IdentityStore } from "./identities.ts";
import type { ProviderIdentity } from "./provider.ts";

export type ProviderName = { id: string; name: string };

export type IdentityLinkingDeps = {
  db: Database;
  identities: IdentityStore;
  accountClaims: AccountClaim;
  audit: Pick<AuditLog, "record">;
  mail: MailOutbox;
  /** OAUTH_AUTO_LINK_VERIFIED. */
  autoLinkVerified: boolean;
};

/**
 * Which user a social login is, and when an identity may join an account: the takeover-resistant part. An
 * identity is found by (provider, subject) only; an address the provider does not vouch for is refused
 * (OAUTH_EMAIL_UNVERIFIED), and a vouched one only creates an account, claims one whose address nobody proved (as a sign-in code does:
 * src/auth/account-claim.ts), or joins a proven one when the operator allows it (OAUTH_AUTO_LINK_VERIFIED).
 * Otherwise the owner signs in as usual and links the provider from there, once the account's address is verified.
 */
export function createIdentityLinking({ db, identities, accountClaims, audit, mail, autoLinkVerified }: IdentityLinkingDeps) {
  const via = (provider: ProviderName) => `oauth:${provider.id}`;

  /** Adds the identity to the user, audited and mailed to the owner; OAUTH_IDENTITY_IN_USE if another user has it. */
  async function link(user: UserRow, provider: ProviderName, identity: ProviderIdentity, context: AuditContext, how: string): Promise<void> {
    const outcome = await identities.add(user.id, provider.id, identity.subject, identity.email);
    if (outcome === "taken") throw new AppError("OAUTH_IDENTITY_IN_USE");
    if (outcome === "already") return;
    await audit.record("account.linked", { userId: user.id, payload: { provider: provider.id, how } }, context);
    await mail.enqueue(mails.providerLinked(user.email, provider.name));
  }

  /** A new account for a first social login; null if the address was registered meanwhile. */
  async function createAccount(provider: ProviderName, identity: ProviderIdentity & { email: string }, context: AuditContext): Promise<UserRow | null> {
    const [created] = await db
      .insert(users)
      .values({ email: identity.email, emailVerified: identity.emailVerified })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (created === undefined) return null;
    if ((await identities.add(created.id, provider.id, identity.subject, identity.email)) !== "added") {
      // The same identity's first login ran twice at once with another address: keep the first account.
      await db.delete(users).where(eq(users.id, created.id));
      throw new AppError("OAUTH_IDENTITY_IN_USE");
    }
    await audit.record("user.registered", { userId: created.id, payload: { via: via(provider), emailVerified: identity.emailVerified } }, context);
    return created;
  }

  /** An account whose address nobody proved, claimed by the provider's word for it. */
  async function claim(existing: UserRow, provider: ProviderName, identity: ProviderIdentity & { email: string }, context: AuditContext): Promise<UserRow> {
    const claimed = await accountClaims.proveMailbox(existing.id, identity.email);
    if (claimed === null) throw new AppError("OAUTH_FLOW_INVALID", { message: "The account no longer has this address" });
    if (claimed.evicted !== null) {
      const { passwordRemoved, identitiesRemoved, revokedSessionIds } = claimed.evicted;
      const payload = { via: via(provider), passwordRemoved, identitiesRemoved, revokedSessions: revokedSessionIds.length };
      await audit.record("account.claimed", { userId: existing.id, payload }, context);
      if (passwordRemoved || identitiesRemoved > 0 || revokedSessionIds.length > 0) await mail.enqueue(mails.accountClaimedBySocialLogin(identity.email, provider.name));
    }
    await link(claimed.user, provider, identity, context, "claim");
    return claimed.user;
  }

  return {
    /** The user a social login signs in to, by the rules above. */
    async userFor(provider: ProviderName, identity: ProviderIdentity, context: AuditContext): Promise<UserRow> {
      const linked = await identities.findUser(provider.id, identity.subject);
      if (linked !== null) {
        if (linked.email !== identity.email) await identities.updateEmail(linked.identityId, identity.email);
        return linked.user;
      }
      const { email } = identity;
      if (email === null) throw new AppError("OAUTH_EMAIL_REQUIRED");
      // An address nobody vouched for neither makes an account nor joins one: an account made for it would keep
      // the identity past the owner's later proof of the mailbox (a password reset, a verification link).
      if (!identity.emailVerified) throw new AppError("OAUTH_EMAIL_UNVERIFIED", { message: "The provider did not verify this address" });
      const withEmail = { ...identity, email };
      const existing = (await findUserByEmail(db, email)) ?? (await createAccount(provider, withEmail, context)) ?? (await findUserByEmail(db, email));
      if (existing === undefined) throw new Error("the user that blocked the insert is gone");
      if (await identities.isLinked(provider.id, identity.subject, existing.id)) return existing;
      if (!existing.emailVerified) return claim(existing, provider, withEmail, context);
      if (!autoLinkVerified) throw new AppError("ACCOUNT_EXISTS_LINK_REQUIRED");
      await link(existing, provider, identity, context, "auto");
      return existing;
    },

    /** mode=link: adds the identity to the signed-in user (who passed step-up when the flow started). */
    async linkTo(userId: string, provider: ProviderName, identity: ProviderIdentity, context: AuditContext): Promise<void> {
      const user = await findUserById(db, userId);
      if (user === undefined) throw new AppError("UNAUTHENTICATED");
      // Whoever registered an address nobody proved could otherwise keep a way in past the owner's password reset.
      if (!user.emailVerified) throw new AppError("EMAIL_NOT_VERIFIED", { message: "An account links a provider only once its address is verified" });
      await link(user, provider, identity, context, "mode=link");
    },
  };
}

export type IdentityLinking = ReturnType<typeof createIdentityLinking>;
