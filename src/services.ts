import { createAuth } from "./auth/better-auth.ts";
import { createCredentialService } from "./auth/credentials.ts";
import { createPasswordChecker, type PasswordHasher } from "./auth/password.ts";
import { createProfileService } from "./auth/profile.ts";
import type { AppConfig } from "./config/config.ts";
import type { DatabaseHandle } from "./db/client.ts";
import { createAuditLog } from "./observability/audit.ts";
import type { Logger } from "./observability/logger.ts";
import { createRefreshRotation } from "./sessions/refresh-rotation.ts";
import type { RevocationBus } from "./sessions/revocation-bus.ts";
import { createSessionCache } from "./sessions/session-cache.ts";
import { createSessionService } from "./sessions/session-service.ts";
import { createSessionValidator } from "./sessions/session-validator.ts";
import { createAccessTokens } from "./tokens/access-token.ts";
import { createSigningKeyBox, loadSigningKeys } from "./tokens/signing-keys.ts";

export type ServiceDeps = {
  config: AppConfig;
  database: DatabaseHandle;
  bus: RevocationBus;
  hasher: PasswordHasher;
  logger: Logger;
};

const SESSION_CACHE = { maxEntries: 100_000, maxAgeMs: 5 * 60_000 };

/** Wires the services over a migrated database and a connected bus. Everything is built here, nothing at import time. */
export async function createServices({ config, database, bus, hasher, logger }: ServiceDeps) {
  const { db } = database;
  const auth = createAuth({ db, config, hasher, logger });
  const credentials = createCredentialService({ auth, db, checkPassword: createPasswordChecker(hasher) });
  const signingKeys = await loadSigningKeys(database, createSigningKeyBox(config.authSecret), {
    accessTtlSeconds: config.tokens.accessTtlSeconds,
  });
  const sessions = createSessionService(db, bus, config.tokens);
  return {
    config,
    logger,
    database,
    bus,
    auth,
    credentials,
    audit: createAuditLog(db, logger),
    profile: createProfileService(db, credentials, bus),
    sessions,
    sessionValidator: createSessionValidator({ sessions, cache: createSessionCache(SESSION_CACHE), bus, logger }),
    rotateRefreshToken: createRefreshRotation({ db, bus, policy: config.tokens, authSecret: config.authSecret }),
    signingKeys,
    accessTokens: createAccessTokens(signingKeys, {
      issuer: config.tokens.issuer,
      audience: config.tokens.audience,
      ttlSeconds: config.tokens.accessTtlSeconds,
    }),
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
