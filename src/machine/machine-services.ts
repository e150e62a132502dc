import type { AppConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { Logger } from "../observability/logger.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { SessionService } from "../sessions/session-service.ts";
import type { SessionValidator } from "../sessions/session-validator.ts";
import type { AccessTokens } from "../tokens/access-token.ts";
import type { SigningKeyStore } from "../tokens/signing-keys.ts";
import { createApiKeyCache } from "./api-key-cache.ts";
import { createApiKeyValidator } from "./api-key-validator.ts";
import type { ApiKeys } from "./api-keys.ts";
import { createClientCredentialsGrant } from "./client-credentials-grant.ts";
import { createMachineTokens } from "./machine-tokens.ts";
import { createOAuthClients } from "./oauth-clients.ts";
import { createOAuthEndpoints } from "./oauth-endpoints.ts";
import { createTokenIntrospection } from "./token-introspection.ts";
import { createTokenRevocation } from "./token-revocation.ts";

/** As many keys as the session cache holds sessions, for as long: the revocation bus empties both precisely. */
const API_KEY_CACHE = { maxEntries: 100_000, maxAgeMs: 5 * 60_000 };

export type MachineServiceDeps = {
  config: AppConfig;
  db: Database;
  bus: RevocationBus;
  audit: AuditLog;
  logger: Logger;
  signingKeys: SigningKeyStore;
  accessTokens: AccessTokens;
  sessions: SessionService;
  sessionValidator: SessionValidator;
  /** Built before the rest (src/services.ts): the account-recovery flows revoke a user's keys too. */
  apiKeys: ApiKeys;
  now: () => Date;
};

/** Personal API keys, machine clients and the OAuth 2.0 endpoints' services (src/machine/). */
export function createMachineServices(deps: MachineServiceDeps) {
  const { config, db, bus, audit, apiKeys, now } = deps;
  const apiKeyValidator = createApiKeyValidator({ keys: apiKeys, cache: createApiKeyCache(API_KEY_CACHE), bus, audit, logger: deps.logger, now });
  const oauthClients = createOAuthClients({ db, audit });
  const machineTokens = createMachineTokens(deps.signingKeys, { issuer: config.tokens.issuer, audience: config.tokens.audience });
  return {
    apiKeys,
    apiKeyValidator,
    oauthClients,
    machineTokens,
    oauth2: createOAuthEndpoints({
      clients: oauthClients,
      grant: createClientCredentialsGrant({ tokens: machineTokens, defaultTtlSeconds: config.machine.tokenTtlSeconds }),
      introspect: createTokenIntrospection({ accessTokens: deps.accessTokens, sessionValidator: deps.sessionValidator, apiKeyValidator, machineTokens, clients: oauthClients }),
      revoke: createTokenRevocation({ db, bus, sessions: deps.sessions, audit, now }),
    }),
  };
}
