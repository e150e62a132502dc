import { createBlocklist } from "./abuse/blocklist.ts";
import { createRateLimitStore } from "./abuse/create-store.ts";
import { createLimiter } from "./abuse/limiter.ts";
import type { RateLimitStore } from "./abuse/rate-limit-store.ts";
import { createAccountDeletion } from "./auth/account-deletion.ts";
import { createAuth } from "./auth/better-auth.ts";
import { loadBreachedList } from "./auth/breached-passwords.ts";
import { createCredentialService } from "./auth/credentials.ts";
import { createEmailVerification } from "./auth/email-verification.ts";
import { createPasswordChecker, type PasswordHasher } from "./auth/password.ts";
import { createPasswordPolicy } from "./auth/password-policy.ts";
import { createPasswordReset } from "./auth/password-reset.ts";
import { createPwnedPasswordsCheck } from "./auth/pwned-passwords.ts";
import { createProfileService } from "./auth/profile.ts";
import { createVerificationTokens } from "./auth/verification-tokens.ts";
import type { AppConfig } from "./config/config.ts";
import type { DatabaseHandle } from "./db/client.ts";
import { createMailQueue, type MailQueueOptions } from "./delivery/mail-queue.ts";
import type { Mailer } from "./delivery/mailer.ts";
import { mails, tokenLink } from "./delivery/templates.ts";
import { countActiveSessions } from "./observability/active-sessions.ts";
import { createAuditLog, SYSTEM_AUDIT_CONTEXT } from "./observability/audit.ts";
import type { Logger } from "./observability/logger.ts";
import { startPeriodicJob } from "./jobs/periodic.ts";
import { createMetrics, type MetricsDeps } from "./observability/metrics.ts";
import { createRefreshRotation } from "./sessions/refresh-rotation.ts";
import type { RevocationBus } from "./sessions/revocation-bus.ts";
import { createSessionCache } from "./sessions/session-cache.ts";
import { createSessionService } from "./sessions/session-service.ts";
import { createSessionValidator } from "./sessions/session-validator.ts";
import { createAccessTokens } from "./tokens/access-token.ts";
import { createAccountClaim } from "./auth/account-claim.ts";
import { createOtpKeyBox, loadOtpKeys } from "./otp/otp-keys.ts";
import { createOtpService } from "./otp/otp-service.ts";
import { createDatabaseSingleUseIds } from "./otp/single-use-ids.ts";
import { createRedisSingleUseIds } from "./otp/single-use-ids-redis.ts";
import { createSigningKeyBox, loadSigningKeys } from "./tokens/signing-keys.ts";

export type ServiceDeps = {
  config: AppConfig;
  database: DatabaseHandle;
  bus: RevocationBus;
  hasher: PasswordHasher;
  logger: Logger;
  mailer: Mailer;
  /** Retries of a failed send; tests make them quick. */
  mailRetry?: MailQueueOptions;
  /** Overrides the store RATE_LIMIT_STORE would pick (tests point it at an unreachable Redis). */
  rateLimitStore?: RateLimitStore;
  /** In a worker process: /metrics reports every worker's figures, gathered through the supervisor. */
  gatherWorkerMetrics?: MetricsDeps["gatherWorkers"];
};

const AUDIT_PURGE_INTERVAL_SECONDS = 3600;
const OTP_ID_PURGE_INTERVAL_SECONDS = 600;
const SESSION_CACHE = { maxEntries: 100_000, maxAgeMs: 5 * 60_000 };

/** Wires the services over a migrated database and a connected bus. Everything is built here, nothing at import time. */
export async function createServices({ config, database, bus, hasher, logger, mailer, mailRetry, ...overrides }: ServiceDeps) {
  const { db } = database;
  const mail = createMailQueue(mailer, logger, mailRetry ?? { attempts: 5, firstRetryDelayMs: 1_000 });
  const auth = createAuth({
    db,
    config,
    hasher,
    logger,
    onPasswordResetRequested: (email, token) =>
      mail.enqueue(mails.passwordReset(email, tokenLink(config.appUrl, "/reset-password", token), config.account.resetTokenTtlSeconds)),
  });
  const passwordPolicy = createPasswordPolicy({
    minLength: config.passwords.minLength,
    isCommon: async (password) => (await loadBreachedList()).has(password),
    isPwned: config.passwords.hibp === null ? undefined : createPwnedPasswordsCheck({ ...config.passwords.hibp, logger }),
  });
  const credentials = createCredentialService({
    auth,
    db,
    checkPassword: createPasswordChecker(hasher),
    requireEmailVerification: config.account.requireEmailVerification,
  });
  const tokens = createVerificationTokens(auth);
  const emailVerification = createEmailVerification({
    db,
    tokens,
    mail,
    bus,
    appUrl: config.appUrl,
    ttlSeconds: config.account.verifyTokenTtlSeconds,
  });
  const signingKeys = await loadSigningKeys(
    database,
    createSigningKeyBox(config.authSecret),
    { accessTtlSeconds: config.tokens.accessTtlSeconds },
    logger,
  );
  const sessions = createSessionService(db, bus, config.tokens);
  const accountDeletion = createAccountDeletion({
    db,
    credentials,
    sessions,
    tokens,
    mail,
    bus,
    appUrl: config.appUrl,
    graceSeconds: config.account.deletionGraceSeconds,
  });
  const rateLimitStore = overrides.rateLimitStore ?? createRateLimitStore(config, db);
  const metrics = createMetrics({
    countActiveSessions: () => countActiveSessions(db),
    isRevocationBusConnected: () => bus.isConnected(),
    maxDbConnections: database.maxConnections,
    logger,
    gatherWorkers: overrides.gatherWorkerMetrics,
  });
  const audit = createAuditLog(db, logger, metrics.countSecurityEvent);
  const otpKeys = await loadOtpKeys(
    database,
    createOtpKeyBox(config.authSecret),
    { rotationDays: config.otp.keyRotationDays, challengeTtlSeconds: config.otp.ttlSeconds },
    logger,
  );
  // The single-use ids live where several instances share them: Redis when configured, else the database.
  const otpIds = config.redisUrl !== null ? createRedisSingleUseIds(config.redisUrl) : createDatabaseSingleUseIds(db);
  const otp = createOtpService({ db, config: config.otp, authSecret: config.authSecret, keys: otpKeys, ids: otpIds, mail });
  const stopJobs = [
    startPeriodicJob(
      "deletion sweep",
      async () => {
        const deleted = await accountDeletion.sweep();
        if (deleted.length > 0) logger.info({ userIds: deleted }, `deleted ${deleted.length} account(s) whose grace period ended`);
        for (const userId of deleted) await audit.record("user.deleted", { userId, payload: { via: "deletion sweep" } }, SYSTEM_AUDIT_CONTEXT);
      },
      config.account.deletionSweepIntervalSeconds,
      logger,
    ),
    startPeriodicJob("audit retention", () => audit.purgeOlderThan(config.auditRetentionDays), AUDIT_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("otp id purge", () => otp.purgeExpired(), OTP_ID_PURGE_INTERVAL_SECONDS, logger),
  ];
  return {
    config,
    logger,
    database,
    bus,
    auth,
    credentials,
    metrics,
    audit,
    mail,
    emailVerification,
    passwordPolicy,
    passwordReset: createPasswordReset(auth, bus, passwordPolicy),
    accountDeletion,
    profile: createProfileService({ db, credentials, emailVerification, mail, bus }),
    sessions,
    sessionValidator: createSessionValidator({ sessions, cache: createSessionCache(SESSION_CACHE), bus, logger }),
    rotateRefreshToken: createRefreshRotation({ db, bus, policy: config.tokens, authSecret: config.authSecret }),
    signingKeys,
    otp,
    otpKeys,
    accountClaims: createAccountClaim(db, bus),
    limiter: createLimiter(rateLimitStore, config.abuse.rules, logger),
    isBlocked: createBlocklist(config.abuse.blocklistCidrs),
    /** Stops the background work (key reloads, deletion sweep, purges), lets queued mail finish, closes the limiter's store. */
    async close() {
      signingKeys.close();
      otpKeys.close();
      for (const stop of stopJobs) stop();
      await mail.drain();
      await rateLimitStore.close();
      await otpIds.close();
    },
    accessTokens: createAccessTokens(signingKeys, {
      issuer: config.tokens.issuer,
      audience: config.tokens.audience,
      ttlSeconds: config.tokens.accessTtlSeconds,
    }),
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
