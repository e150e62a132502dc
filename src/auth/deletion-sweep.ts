import type { Logger } from "../observability/logger.ts";
import type { AccountDeletion } from "./account-deletion.ts";

/**
 * Carries out scheduled deletions now and then every interval. The schedule is in the database, so a restart
 * or another instance picks up where this one stopped; running on several instances at once is harmless.
 */
export function startDeletionSweep(deletion: AccountDeletion, intervalSeconds: number, logger: Logger): () => void {
  const sweep = async () => {
    try {
      const deleted = await deletion.sweep();
      if (deleted.length > 0) logger.info({ userIds: deleted }, `deleted ${deleted.length} account(s) whose grace period ended`);
    } catch (error) {
      logger.error({ err: error }, "scheduled account deletion failed; will retry");
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), intervalSeconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
