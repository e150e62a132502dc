import type { Services } from "../services.ts";

/** The services the schema's resolvers call: the same the REST handlers call. */
export type GraphqlDeps = Pick<
  Services,
  "config" | "profile" | "changePassword" | "ownSessions" | "ownAuditTrail" | "mfaEnrolment" | "linkedAccounts" | "admin" | "stepUp" | "sessions" | "passkeyManagement" | "apiKeys"
>;
