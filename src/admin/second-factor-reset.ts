import type { Database } from "../db/client.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import type { FactorStore } from "../mfa/factor-store.ts";
import type { ApiKeys } from "../machine/api-keys.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Actor } from "./actor.ts";
import { findUser } from "./user-directory.ts";

export type SecondFactorResetDeps = {
  db: Database;
  factors: Pick<FactorStore, "removeAll">;
  apiKeys: Pick<ApiKeys, "revokeAllFor">;
  bus: RevocationBus;
  audit: Pick<AuditLog, "recordOrFail">;
  mail: MailOutbox;
};

/**
 * DELETE /auth/admin/users/{id}/mfa: every second factor and recovery code of a user who lost them goes, so the
 * user signs in with the first factor again (and, under MFA_POLICY=required, must enrol anew). Idempotent: a user
 * without a second factor is left as is. Published (every instance stops asking for the removed factor), audited
 * on the user's account, and the user is mailed, since a takeover would look the same. The user's API keys are
 * revoked with them: a key made by whoever held the lost factor must not outlive the recovery.
 */
export function createSecondFactorReset({ db, factors, apiKeys, bus, audit, mail }: SecondFactorResetDeps) {
  return async function resetSecondFactors(userId: string, actor: Actor): Promise<void> {
    const user = await findUser(db, userId);
    const removed = await factors.removeAll(user.id);
    await bus.publish({ kind: "user", userId: user.id });
    await audit.recordOrFail("admin.mfa_reset", { userId: user.id, actorId: actor.adminId, payload: { removed } }, actor.audit);
    await apiKeys.revokeAllFor(user.id, { reason: "admin_mfa_reset", actorId: actor.adminId }, actor.audit);
    if (removed.length > 0) await mail.enqueue(mails.secondFactorsReset(user.email));
  };
}
