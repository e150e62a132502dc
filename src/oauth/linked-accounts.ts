import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { IdentityStore, LinkedIdentity } from "./identities.ts";
import type { ProviderRegistry } from "./providers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET and DELETE /auth/me/accounts: the ways in to the caller's account. */
export function createLinkedAccounts(deps: { identities: IdentityStore; providers: Pick<ProviderRegistry, "list">; audit: Pick<AuditLog, "record">; mail: MailOutbox }) {
  const { identities, providers, audit, mail } = deps;
  const nameOf = (provider: string) => providers.list().find((entry) => entry.id === provider)?.name ?? provider;

  return {
    list: (userId: string): Promise<{ identities: LinkedIdentity[]; password: boolean; passkeys: number }> => identities.list(userId),

    /** Removes a linked identity (the route requires a recent authentication); LAST_SIGN_IN_METHOD if it is the only way in. */
    async unlink(user: { id: string }, identityId: string, context: AuditContext): Promise<void> {
      // Any string is accepted and answered like someone else's identity: no hints.
      if (!UUID.test(identityId)) throw new AppError("NOT_FOUND", { message: "No such linked account" });
      const removed = await identities.unlink(user.id, identityId);
      await audit.record("account.unlinked", { userId: user.id, payload: { provider: removed.provider } }, context);
      await mail.enqueue(mails.providerUnlinked(removed.userEmail, nameOf(removed.provider)));
    },
  };
}

export type LinkedAccounts = ReturnType<typeof createLinkedAccounts>;
