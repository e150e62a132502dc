import { accounts, verifications } from "./tables/accounts.ts";
import { auditEvents } from "./tables/audit-events.ts";
import { otpChallengeIds, otpKeys } from "./tables/otp.ts";
import { rateLimits } from "./tables/rate-limits.ts";
import { refreshTokens, sessions } from "./tables/sessions.ts";
import { signingKeys } from "./tables/signing-keys.ts";
import { users } from "./tables/users.ts";

/** The one schema object handed to drizzle and to Better-Auth's drizzle adapter (keys are model names). */
export const schema = { users, accounts, verifications, sessions, refreshTokens, signingKeys, auditEvents, rateLimits, otpKeys, otpChallengeIds };

export type Schema = typeof schema;
