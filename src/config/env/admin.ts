import { z } from "zod";
import { flag } from "./fields.ts";

/** The admin API: impersonation and what users see of administrators. */
export const adminVariables = {
  IMPERSONATION_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .max(86_400)
    .default(1800)
    .describe(
      "Seconds an administrator's impersonation session (POST /auth/admin/users/{id}/impersonate) lives; refreshing does not extend it, and its access tokens expire with it.",
    ),
  ADMIN_MFA_REQUIRED: flag(true).describe(
    "true: an administrator who has a second factor uses the admin API only from a session that proved it (401 STEP_UP_REQUIRED with acrValues aal2 " +
      "otherwise: re-authenticate with the second factor). With MFA_POLICY=required an administrator without one must enrol first anyway. " +
      "false: the admin role alone is enough.",
  ),
  AUDIT_SHOW_ADMIN: flag(false).describe(
    "true: a user's own audit trail (GET /auth/audit) names the administrator (actorId) behind each event they caused, with the request's address and user agent, and GET /auth/sessions shows an impersonation session's address and user agent. false: it shows what was done, not by whom nor from where.",
  ),
};
