import { createAuth } from "./auth/better-auth.ts";
import { createCredentialService } from "./auth/credentials.ts";
import { createPasswordChecker, type PasswordHasher } from "./auth/password.ts";
import { createProfileService } from "./auth/profile.ts";
import type { AppConfig } from "./config/config.ts";
import type { DatabaseHandle } from "./db/client.ts";
import type { Logger } from "./observability/logger.ts";
import { createSessionService } from "./sessions/session-service.ts";
import { createAccessTokens } from "./tokens/access-token.ts";
import { createSecretBox } from "./tokens/secret-box.ts";
import { loadSigningKeys } from "./tokens/signing-keys.ts";

export type ServiceDeps = { config: AppConfig; database: DatabaseHandle; hasher: PasswordHasher; logger: Logger };

/** Wires the services over a migrated database. Everything is built here, nothing at import time. */
export async function createServices({ config, database, hasher, logger }: ServiceDeps) {
  const { db } = database;
  const auth = createAuth({ db, config, hasher, logger });
  const credentials = createCredentialService({ auth, db, checkPassword: createPasswordChecker(hasher) });
  const signingKeys = await loadSigningKeys(database, createSecretBox(config.authSecret, "signing-keys"));
  return {
    config,
    logger,
    database,
    auth,
    credentials,
    profile: createProfileService(db, credentials),
    sessions: createSessionService(db, config.tokens),
    signingKeys,
    accessTokens: createAccessTokens(signingKeys, {
      issuer: config.tokens.issuer,
      audience: config.tokens.audience,
      ttlSeconds: config.tokens.accessTtlSeconds,
    }),
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
