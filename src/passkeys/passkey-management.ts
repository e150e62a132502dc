import type { UserRow } from "../auth/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { AuditContext, AuditLog } from "../observability/audit.ts";
import type { PasskeyRow, PasskeyStore } from "./passkey-store.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any id that is not one of the caller's passkeys (malformed, unknown, someone else's) answers the same 404. */
const notFound = () => new AppError("NOT_FOUND", { message: "No such passkey" });

/** GET, PATCH and DELETE /auth/passkeys: the signed-in user's own passkeys. */
export function createPasskeyManagement(deps: { store: PasskeyStore; audit: Pick<AuditLog, "record">; mail: MailOutbox }) {
  const { store, audit, mail } = deps;
  return {
    list: (userId: string): Promise<PasskeyRow[]> => store.list(userId),

    async rename(user: UserRow, id: string, name: string, context: AuditContext): Promise<PasskeyRow> {
      const renamed = UUID.test(id) ? await store.rename(user.id, id, name) : null;
      if (renamed === null) throw notFound();
      await audit.record("passkey.renamed", { userId: user.id, payload: { passkeyId: id, name } }, context);
      return renamed;
    },

    /** LAST_SIGN_IN_METHOD when nothing else would sign in to the account (src/passkeys/passkey-store.ts). */
    async remove(user: UserRow, id: string, context: AuditContext): Promise<void> {
      const removed = UUID.test(id) ? await store.remove(user.id, id) : null;
      if (removed === null) throw notFound();
      await audit.record("passkey.removed", { userId: user.id, payload: { passkeyId: id, name: removed.name } }, context);
      await mail.enqueue(mails.passkeyRemoved(user.email, removed.name));
    },
  };
}

export type PasskeyManagement = ReturnType<typeof createPasskeyManagement>;
