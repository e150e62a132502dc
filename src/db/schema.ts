import { accounts, verifications } from "./tables/accounts.ts";
import { mfaChallenges, recoveryCodes, secondFactors } from "./tables/mfa.ts";
import { apiKeys, oauthClients } from "./tables/machine.ts";
import { auditEvents } from "./tables/audit-events.ts";
import { otpChallengeIds, otpKeys } from "./tables/otp.ts";
import { outboxAttempts, outboxMessages } from "./tables/outbox.ts";
import { passkeys, webauthnChallenges, webauthnUserHandles } from "./tables/passkeys.ts";
import { rateLimits } from "./tables/rate-limits.ts";
import { refreshTokens, sessions } from "./tables/sessions.ts";
import { signingKeys } from "./tables/signing-keys.ts";
import { users } from "./tables/users.ts";
import { webhookEndpoints } from "./tables/webhooks.ts";

/** The one schema object handed to drizzle and to Better-Auth's drizzle adapter (keys are model names). */
export const schema = { users, accounts, verifications, sessions, refreshTokens, signingKeys, auditEvents, rateLimits, otpKeys, otpChallengeIds, secondFactors, recoveryCodes, mfaChallenges, passkeys, webauthnUserHandles, webauthnChallenges, apiKeys, oauthClients, outboxMessages, outboxAttempts, webhookEndpoints };

export type Schema = typeof schema;
