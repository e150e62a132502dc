import { findUserById } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import type { Proof, Strategy } from "../flows/sign-in-flow.ts";
import type { IdentityStore } from "./identities.ts";
import type { IdentityLinking, ProviderName } from "./identity-linking.ts";
import type { ProviderIdentity } from "./provider.ts";

/** An identity the provider vouched for (the callback's checks passed). */
export type SocialInput = { provider: ProviderName; identity: ProviderIdentity };

/**
 * A social login as a first factor of the sign-in flow (amr `fed`). The identity's user comes from the linking
 * rules; the proof holds only while the identity stays linked, since a claim of the address by its owner removes
 * identities linked before the address was proven (src/auth/account-claim.ts), possibly while this sign-in runs.
 */
export function createSocialStrategy(deps: { db: Database; identities: IdentityStore; linking: IdentityLinking }) {
  const { db, identities, linking } = deps;

  const proofOf = (user: Proof["user"], provider: string, subject: string): Proof => ({
    user,
    method: "fed",
    via: `oauth:${provider}`,
    stillEntitled: () => identities.isLinked(provider, subject, user.id),
  });

  const strategy: Strategy<SocialInput> = {
    async prove({ provider, identity }, attempt) {
      return proofOf(await linking.userFor(provider, identity, attempt.audit), provider.id, identity.subject);
    },
  };

  return {
    strategy,

    /** The proof an app's exchange code stands for, if its identity still signs in to that user. */
    async proofFromExchange(userId: string, provider: string, subject: string): Promise<Proof> {
      const user = await findUserById(db, userId);
      if (user === undefined || !(await identities.isLinked(provider, subject, userId))) throw new AppError("OAUTH_FLOW_INVALID", { message: "The identity is no longer linked" });
      return proofOf(user, provider, subject);
    },
  };
}

export type SocialStrategy = ReturnType<typeof createSocialStrategy>;
