import { betterAuth } from "better-auth/minimal";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import { schema } from "../db/schema.ts";
import type { Logger } from "../observability/logger.ts";
import type { PasswordHasher } from "./password.ts";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH_FLOOR } from "./password-policy.ts";

export type AuthDeps = {
  db: Database;
  config: AppConfig;
  hasher: PasswordHasher;
  logger: Logger;
};

/**
 * Better-Auth as the credential engine: users, credential accounts (argon2id hashes), verification values.
 * Its HTTP handler is never mounted (see DESIGN.md section 1); Servauth calls `auth.api.*` and its context.
 * Sessions are created by Servauth, not here, because Better-Auth stores session tokens in plaintext.
 */
export function createAuth({ db, config, hasher, logger }: AuthDeps) {
  return betterAuth({
    appName: "Servauth",
    baseURL: config.appUrl,
    secret: config.authSecret,
    database: drizzleAdapter(db, { provider: "pg", schema, transaction: true }),
    telemetry: { enabled: false },
    rateLimit: { enabled: false },
    logger: { log: (level, message) => logger[level]({ component: "better-auth" }, message) },
    advanced: { database: { generateId: "uuid" } },
    emailAndPassword: {
      enabled: true,
      autoSignIn: false,
      // The password policy is the real check (code points, after NFKC); Better-Auth counts UTF-16 units of what it
      // is given, the normalized form, so its bounds are set where they never refuse what the policy accepts.
      minPasswordLength: PASSWORD_MIN_LENGTH_FLOOR,
      maxPasswordLength: 2 * PASSWORD_MAX_LENGTH,
      password: {
        hash: (password) => hasher.hash(password),
        verify: ({ hash, password }) => hasher.verify(hash, password),
      },
      // Reset tokens are issued by src/auth/password-reset.ts (RESET_TOKEN_TTL); only their use is Better-Auth's.
      // The sessions are deleted in the transaction that sets the new hash (the revocation is then published).
      revokeSessionsOnPasswordReset: true,
    },
    user: {
      modelName: "users",
      additionalFields: { username: { type: "string", required: false, input: true } },
    },
    session: { modelName: "sessions", fields: { token: "tokenHash" } },
    account: { modelName: "accounts" },
    verification: { modelName: "verifications", storeIdentifier: "hashed" },
  });
}

export type Auth = ReturnType<typeof createAuth>;
