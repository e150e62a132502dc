import type { AccountClaim } from "../auth/account-claim.ts";
import type { OAuthConfig } from "../config/env/oauth.ts";
import type { Database } from "../db/client.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import type { SignInFlow } from "../flows/sign-in-flow.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { Logger } from "../observability/logger.ts";
import type { OtpKeyStore } from "../otp/otp-keys.ts";
import type { SingleUseIds } from "../otp/single-use-ids.ts";
import { createFlowStates } from "./flow-state.ts";
import { createIdentityStore } from "./identities.ts";
import { createIdentityLinking } from "./identity-linking.ts";
import { createLinkedAccounts } from "./linked-accounts.ts";
import { createProviderRegistry } from "./providers.ts";
import { createRedirectAllowlist } from "./redirect-allowlist.ts";
import { createSocialLogin } from "./social-login.ts";
import { createSocialStrategy } from "./social-strategy.ts";

export type SocialServiceDeps = {
  config: OAuthConfig;
  appUrl: string;
  db: Database;
  /** The one-time-code key ring and single-use ids: flow states and exchange codes are sealed and spent alike. */
  keys: OtpKeyStore;
  ids: SingleUseIds;
  accountClaims: AccountClaim;
  signInFlow: SignInFlow;
  stepUp: StepUp;
  audit: AuditLog;
  mail: MailOutbox;
  logger: Logger;
  now?: () => Date;
};

/** Social login's services, wired: the flow service, the linked-accounts service, and the providers (for /ready). */
export function createSocialServices({ config, appUrl, db, keys, ids, accountClaims, signInFlow, stepUp, audit, mail, logger, now = () => new Date() }: SocialServiceDeps) {
  const providers = createProviderRegistry(config, logger);
  const identities = createIdentityStore(db);
  const linking = createIdentityLinking({ db, identities, accountClaims, audit, mail, autoLinkVerified: config.autoLinkVerified });
  const flows = createFlowStates({ keys, ids, flowTtlSeconds: config.flowTtlSeconds, exchangeCodeTtlSeconds: config.exchangeCodeTtlSeconds, now });
  return {
    providers,
    socialLogin: createSocialLogin({
      providers,
      allowlist: createRedirectAllowlist(config.redirectAllowlist),
      flows,
      linking,
      social: createSocialStrategy({ db, identities, linking }),
      signInFlow,
      stepUp,
      audit,
      appUrl,
      flowTtlSeconds: config.flowTtlSeconds,
    }),
    linkedAccounts: createLinkedAccounts({ identities, providers, audit, mail }),
  };
}
