import { createBlocklist } from "./abuse/blocklist.ts";
import { createRateLimitStore } from "./abuse/create-store.ts";
import { createLimiter } from "./abuse/limiter.ts";
import type { RateLimitStore } from "./abuse/rate-limit-store.ts";
import { createAccountDeletion } from "./auth/account-deletion.ts";
import { type AddressIntent, createAddressRequests } from "./auth/address-requests.ts";
import { createAuth } from "./auth/better-auth.ts";
import { loadBreachedList } from "./auth/breached-passwords.ts";
import { createCredentialService } from "./auth/credentials.ts";
import { createEmailVerification } from "./auth/email-verification.ts";
import { createPasswordChecker, type PasswordHasher } from "./auth/password.ts";
import { createPasswordChange } from "./auth/password-change.ts";
import { createPasswordPolicy } from "./auth/password-policy.ts";
import { createPasswordReset } from "./auth/password-reset.ts";
import { createPwnedPasswordsCheck } from "./auth/pwned-passwords.ts";
import { createProfileService } from "./auth/profile.ts";
import { createVerificationTokens } from "./auth/verification-tokens.ts";
import type { AppConfig } from "./config/config.ts";
import type { Database, DatabaseHandle } from "./db/client.ts";
import { createEmbeddedVacuum } from "./db/embedded-vacuum.ts";
import type { Mailer } from "./delivery/mailer.ts";
import { countActiveSessions } from "./observability/active-sessions.ts";
import { createAuditLog, SYSTEM_AUDIT_CONTEXT } from "./observability/audit.ts";
import type { Logger } from "./observability/logger.ts";
import { startPeriodicJob } from "./jobs/periodic.ts";
import { createCodeChallenges } from "./flows/code-challenges.ts";
import { createEmailCodeStrategy } from "./flows/email-code-strategy.ts";
import { createPasswordStrategy } from "./flows/password-strategy.ts";
import { createRegistration } from "./flows/registration.ts";
import { createMfaSignIn } from "./flows/mfa-sign-in.ts";
import { createSecondFactorStrategy } from "./flows/second-factor-strategy.ts";
import { createSignInFlow } from "./flows/sign-in-flow.ts";
import { createEmailCodes } from "./mfa/email-codes.ts";
import { createFactorCodes } from "./mfa/factor-codes.ts";
import { createFactorStore } from "./mfa/factor-store.ts";
import { createFirstFactors } from "./mfa/first-factors.ts";
import { createMfaChallenges } from "./mfa/mfa-challenges.ts";
import { createMfaEnrolment } from "./mfa/mfa-enrolment.ts";
import { createSecondFactorReproof } from "./mfa/mfa-reauthentication.ts";
import { createSecondFactorGate } from "./mfa/second-factor-gate.ts";
import { createStepUp } from "./flows/step-up.ts";
import { createTokenRefresh } from "./flows/token-refresh.ts";
import { createMetrics, type MetricsDeps } from "./observability/metrics.ts";
import { createRefreshRotation } from "./sessions/refresh-rotation.ts";
import type { RevocationBus } from "./sessions/revocation-bus.ts";
import { createSessionCache } from "./sessions/session-cache.ts";
import { createSessionService } from "./sessions/session-service.ts";
import { createOwnSessions } from "./sessions/own-sessions.ts";
import { createOwnAuditTrail } from "./observability/own-audit-trail.ts";
import { createSessionValidator } from "./sessions/session-validator.ts";
import { createAccessTokens } from "./tokens/access-token.ts";
import { createAccountClaim } from "./auth/account-claim.ts";
import { createAdminServices } from "./admin/admin-services.ts";
import { findUserById } from "./auth/users.ts";
import { createOtpKeyBox, loadOtpKeys } from "./otp/otp-keys.ts";
import { type CodeIntent, createOtpService } from "./otp/otp-service.ts";
import { createDatabaseSingleUseIds } from "./otp/single-use-ids.ts";
import { createRedisSingleUseIds } from "./otp/single-use-ids-redis.ts";
import { createSecretBox } from "./tokens/secret-box.ts";
import { createOutbox, type MailRetry } from "./outbox/create-outbox.ts";
import { createOutboxStore } from "./outbox/outbox-store.ts";
import { createFailedMail } from "./outbox/failed-mail.ts";
import { MAIL_BOX_PURPOSE } from "./outbox/mail-channel.ts";
import { createWebhookChannel } from "./webhooks/webhook-channel.ts";
import { createWebhookEndpoints } from "./webhooks/webhook-endpoints.ts";
import { WEBHOOK_SECRET_BOX_PURPOSE } from "./webhooks/webhook-secrets.ts";
import { createSigningKeyBox, loadSigningKeys } from "./tokens/signing-keys.ts";
import { createSocialServices } from "./oauth/create-social-login.ts";
import { createIdentityStore } from "./oauth/identities.ts";
import { createPasskeys } from "./passkeys/create-passkeys.ts";
import { loadPersistedOperations } from "./graphql/persisted-operations.ts";
import { createMachineServices } from "./machine/machine-services.ts";
import { createApiKeys } from "./machine/api-keys.ts";

export type ServiceDeps = {
  config: AppConfig;
  database: DatabaseHandle;
  bus: RevocationBus;
  hasher: PasswordHasher;
  logger: Logger;
  mailer: Mailer;
  /** Retries of a failed send; tests make them quick. */
  mailRetry?: MailRetry;
  /** Overrides the store RATE_LIMIT_STORE would pick (tests point it at an unreachable Redis). */
  rateLimitStore?: RateLimitStore;
  /** In a worker process: /metrics reports every worker's figures, gathered through the supervisor. */
  gatherWorkerMetrics?: MetricsDeps["gatherWorkers"];
  /** The clock of session times and step-up (tests move it instead of waiting). */
  now?: () => Date;
};

const AUDIT_PURGE_INTERVAL_SECONDS = 3600;
/** Spent one-time-code ids, mfaTokens and WebAuthn challenges live minutes: purged as often. */
const SHORT_LIVED_PURGE_INTERVAL_SECONDS = 600;
const OUTBOX_PURGE_INTERVAL_SECONDS = 3600;
/** How often the embedded database's tables are checked for a vacuum: autovacuum_naptime's default. */
const EMBEDDED_VACUUM_INTERVAL_SECONDS = 60;
const SESSION_CACHE = { maxEntries: 100_000, maxAgeMs: 5 * 60_000 };
/**
 * Shutdown's wait for intents being composed and deliveries in flight: with the server's own drain, well inside the
 * 30 s orchestrators commonly allow after SIGTERM. What is not done waits in the outbox for the next start.
 */
const MAIL_DRAIN_TIMEOUT_MS = 5_000;

/**
 * The embedded database's vacuum, first after one interval: a short-lived process (a CLI command, a test's app)
 * never runs it, and a server's start-up does not wait behind it.
 */
function startEmbeddedVacuum(db: Database, logger: Logger) {
  const vacuum = createEmbeddedVacuum(db, logger);
  return startPeriodicJob("embedded database vacuum", async () => void (await vacuum.run()), EMBEDDED_VACUUM_INTERVAL_SECONDS, logger, { firstRunAfterInterval: true });
}

/** Wires the services over a migrated database and a connected bus. Everything is built here, nothing at import time. */
export async function createServices({ config, database, bus, hasher, logger, mailer, mailRetry, now, ...overrides }: ServiceDeps) {
  const { db } = database;
  const clock = now ?? (() => new Date());
  const outboxStore = createOutboxStore(db);
  const metrics = createMetrics({
    countActiveSessions: () => countActiveSessions(db),
    countOutbox: () => outboxStore.countByStatus(),
    isRevocationBusConnected: () => bus.isConnected(),
    maxDbConnections: database.maxConnections,
    logger,
    gatherWorkers: overrides.gatherWorkerMetrics,
  });
  // An audited event that maps to webhook events writes their deliveries; the outbox (below) is woken then.
  const audit = createAuditLog(db, logger, metrics.countSecurityEvent, { onWebhooksWritten: () => outbox.wake(), now: clock });
  const webhookBox = createSecretBox(config.authSecret, WEBHOOK_SECRET_BOX_PURPOSE);
  const outbox = createOutbox({
    config,
    db,
    store: outboxStore,
    bus,
    mailer,
    logger,
    now: clock,
    mailRetry,
    channels: { webhook: createWebhookChannel({ db, box: webhookBox, audit, allowInternal: config.outbox.allowPrivateNetworks, now: clock }) },
    onAttempt: metrics.countOutboxAttempt,
  });
  const { mail } = outbox;
  const auth = createAuth({ db, config, hasher, logger });
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
    ...(now ? { now } : {}),
  });
  const tokens = createVerificationTokens(auth, db);
  const emailVerification = createEmailVerification({
    db,
    tokens,
    mail,
    bus,
    link: config.links.verifyEmail,
    ttlSeconds: config.account.verifyTokenTtlSeconds,
  });
  const signingKeys = await loadSigningKeys(
    database,
    createSigningKeyBox(config.authSecret),
    { accessTtlSeconds: config.tokens.accessTtlSeconds },
    logger,
  );
  const sessions = createSessionService(db, bus, config.tokens, now);
  const rateLimitStore = overrides.rateLimitStore ?? createRateLimitStore(config, db);
  const mfaChallenges = createMfaChallenges(db, clock);
  const apiKeys = createApiKeys({
    db,
    bus,
    audit,
    now: clock,
    policy: { maxPerUser: config.machine.apiKeysPerUser, maxTtlSeconds: config.machine.apiKeyMaxTtlSeconds, usageResolutionSeconds: config.tokens.activityResolutionSeconds },
  });
  const passwordReset = createPasswordReset({
    auth,
    bus,
    tokens,
    passwordPolicy,
    mfaChallenges,
    apiKeys,
    link: config.links.resetPassword,
    ttlSeconds: config.account.resetTokenTtlSeconds,
  });
  const addressRequests = createAddressRequests({ db, credentials, emailVerification, passwordReset, audit, mail });
  const otpKeys = await loadOtpKeys(
    database,
    createOtpKeyBox(config.authSecret),
    // A retired key must keep opening what it sealed: challenges, and social-login flows (OAUTH flow lifetime).
    { rotationDays: config.otp.keyRotationDays, challengeTtlSeconds: Math.max(config.otp.ttlSeconds, config.oauth.flowTtlSeconds) },
    logger,
  );
  // The single-use ids live where several instances share them: Redis when configured, else the database.
  const otpIds = config.redisUrl !== null ? createRedisSingleUseIds(config.redisUrl) : createDatabaseSingleUseIds(db);
  const accountClaims = createAccountClaim(db, bus);
  const otp = createOtpService({ db, config: config.otp, authSecret: config.authSecret, keys: otpKeys, ids: otpIds, mail });
  // Until now the compose lane claimed nothing: intents left by a crash are composed from here on.
  outbox.composeWith<AddressIntent | CodeIntent>({ ...addressRequests.composers, ...otp.composers });
  const factors = createFactorStore(db);
  const emailCodes = createEmailCodes({ config: config.otp, authSecret: config.authSecret, mail, now: clock });
  // TOTP secrets are sealed at rest in the same AES-256-GCM box as signing and OTP keys, under their own derived key.
  const totpBox = createSecretBox(config.authSecret, "mfa-totp");
  const factorCodes = createFactorCodes({ factors, totpBox, authSecret: config.authSecret, audit, mail, logger, now: clock });
  const stepUp = createStepUp({
    credentials,
    sessions,
    otp,
    audit,
    proveSecondFactor: createSecondFactorReproof({ codes: factorCodes, audit }),
    maxAgeSeconds: config.account.stepUpMaxAgeSeconds,
    now: clock,
  });
  const accountDeletion = createAccountDeletion({
    db,
    stepUp,
    sessions,
    tokens,
    mail,
    bus,
    audit,
    link: config.links.cancelDeletion,
    graceSeconds: config.account.deletionGraceSeconds,
  });
  const passkeys = createPasskeys({ config: config.webauthn, db, audit, mail, now: clock });
  const secondFactorSources = { factors, passkeys: passkeys.store };
  const firstFactors = createFirstFactors({ credentials, identities: createIdentityStore(db), passkeys: passkeys.store });
  const signInFlow = createSignInFlow({
    sessions,
    audit,
    assertMaySignIn: (user) => credentials.assertMaySignIn(user),
    secondFactor: createSecondFactorGate({ sources: secondFactorSources, challenges: mfaChallenges, audit }),
  });
  const registration = createRegistration({
    db,
    codeSignUp: config.otp.signUp,
    requireEmailVerification: config.account.requireEmailVerification,
    signInFlow,
    credentials,
    passwordPolicy,
    emailVerification,
    addressRequests,
  });
  const emailCodeStrategy = createEmailCodeStrategy({ registration, accountClaims, audit, mail });
  const secondFactorStrategy = createSecondFactorStrategy({ factors, sources: secondFactorSources, assertions: passkeys.assertions, codes: factorCodes, challenges: mfaChallenges, emailCodes, audit, now: clock });
  const social = createSocialServices({
    config: config.oauth,
    appUrl: config.appUrl,
    db,
    keys: otpKeys,
    ids: otpIds,
    accountClaims,
    signInFlow,
    stepUp,
    audit,
    mail,
    logger,
    now: clock,
  });
  const sessionValidator = createSessionValidator({
    sessions,
    cache: createSessionCache(SESSION_CACHE),
    bus,
    logger,
    findUser: (userId) => findUserById(db, userId),
    ...(now ? { now } : {}),
  });
  const accessTokens = createAccessTokens(signingKeys, {
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    ttlSeconds: config.tokens.accessTtlSeconds,
  });
  const machine = createMachineServices({ config, db, bus, audit, logger, signingKeys, accessTokens, sessions, sessionValidator, apiKeys, now: clock });
  // Discovery in the background: a provider that is down at start is reported by /ready, not fatal.
  social.providers.warmUp();
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
    startPeriodicJob("otp id purge", () => otp.purgeExpired(), SHORT_LIVED_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("verification token purge", async () => void (await tokens.purgeExpired()), SHORT_LIVED_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("mfa challenge purge", () => mfaChallenges.purgeExpired(), SHORT_LIVED_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("webauthn challenge purge", () => passkeys.challenges.purgeExpired(), SHORT_LIVED_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("api key purge", async () => void (await machine.apiKeys.purgeEnded(config.auditRetentionDays)), AUDIT_PURGE_INTERVAL_SECONDS, logger),
    startPeriodicJob("outbox retention", async () => void (await outbox.purgeDelivered()), OUTBOX_PURGE_INTERVAL_SECONDS, logger),
    // A PostgreSQL server vacuums itself (autovacuum); the embedded database has nothing else that does.
    ...(database.kind === "pglite" ? [startEmbeddedVacuum(db, logger)] : []),
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
    outbox,
    outboxStore,
    webhooks: createWebhookEndpoints({
      db,
      store: outboxStore,
      box: webhookBox,
      audit,
      urlPolicy: { allowInternal: config.outbox.allowPrivateNetworks, isProduction: config.isProduction },
      wake: outbox.wake,
      now: clock,
    }),
    failedMail: createFailedMail({ db, store: outboxStore, box: createSecretBox(config.authSecret, MAIL_BOX_PURPOSE), audit, wake: outbox.wake, now: clock }),
    emailVerification,
    passwordPolicy,
    passwordReset,
    addressRequests,
    registration,
    accountDeletion,
    profile: createProfileService({ db, stepUp, emailVerification, mail, bus, audit }),
    stepUp,
    signInFlow,
    mfaSignIn: createMfaSignIn({ db, flow: signInFlow, challenges: mfaChallenges, sources: secondFactorSources, webauthn: passkeys.secondFactorOptions, emailCodes, strategy: secondFactorStrategy, credentials }),
    passkeyRegistration: passkeys.registration,
    passkeyManagement: passkeys.management,
    passkeySignIn: passkeys.signInThrough(signInFlow),
    mfaEnrolment: createMfaEnrolment({ factors, passkeys: passkeys.store, firstFactors, emailCodes, totpBox, config, sessions, bus, audit, mail, now: clock }),
    admin: createAdminServices({ config, db, bus, sessions, audit, registration, credentials, passwordReset, tokens, mail, factors, passkeys: passkeys.store, apiKeys, now: clock }),
    passwordStrategy: createPasswordStrategy({ credentials, audit }),
    codeChallenges: createCodeChallenges({ otp, emailVerification, audit, signInFlow, emailCodeStrategy }),
    changePassword: createPasswordChange({ credentials, stepUp, sessions, mfaChallenges, apiKeys, passwordPolicy, audit, mail }),
    sessions,
    ownSessions: createOwnSessions({ sessions, audit, stepUp, showAdmin: config.admin.auditShowsAdmin }),
    ownAuditTrail: createOwnAuditTrail(audit, config.admin.auditShowsAdmin),
    sessionValidator,
    refreshTokens: createTokenRefresh({
      rotateRefreshToken: createRefreshRotation({ db, bus, policy: config.tokens, authSecret: config.authSecret }),
      audit,
      findUser: (userId) => findUserById(db, userId),
      sessions,
      ...(now ? { now } : {}),
    }),
    signingKeys,
    otp,
    otpKeys,
    accountClaims,
    ...social,
    limiter: createLimiter(rateLimitStore, config.abuse.rules, logger),
    persistedOperations: await loadPersistedOperations(config.graphql.persistedOperationsFile),
    isBlocked: createBlocklist(config.abuse.blocklistCidrs),
    /** Stops the background work (key reloads, deletion sweep, purges), lets queued mail finish, closes the limiter's store. */
    async close() {
      signingKeys.close();
      otpKeys.close();
      for (const stop of stopJobs) stop();
      await mail.drainWithin(MAIL_DRAIN_TIMEOUT_MS);
      // The drain had its time: whatever is still in flight is retried after its lease, by whoever runs next.
      await outbox.worker.stop(0);
      await rateLimitStore.close();
      await otpIds.close();
    },
    accessTokens,
    ...machine,
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
