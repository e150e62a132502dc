import type { CredentialService } from "../auth/credentials.ts";
import type { IdentityStore } from "../oauth/identities.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";

/**
 * The ways an account can prove itself first other than a code mailed to its address: what decides whether email
 * codes can be its second factor (a mailed code cannot be the second factor to itself). A password, a linked
 * social identity (its provider's sign-in does not go through the mailbox), or a passkey.
 */
export function createFirstFactors(deps: {
  credentials: Pick<CredentialService, "hasPassword">;
  identities: Pick<IdentityStore, "hasAny">;
  passkeys: Pick<PasskeyStore, "hasAny">;
}) {
  const besidesMailedCode: Array<(userId: string) => Promise<boolean>> = [
    (userId) => deps.credentials.hasPassword(userId),
    (userId) => deps.identities.hasAny(userId),
    (userId) => deps.passkeys.hasAny(userId),
  ];
  return {
    async hasOneBesidesEmail(userId: string): Promise<boolean> {
      for (const has of besidesMailedCode) if (await has(userId)) return true;
      return false;
    },
  };
}

export type FirstFactors = ReturnType<typeof createFirstFactors>;
