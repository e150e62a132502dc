import type { UserRow } from "../auth/users.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { PasskeyStore } from "../passkeys/passkey-store.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import type { FactorStore } from "./factor-store.ts";
import type { MfaChallenges } from "./mfa-challenges.ts";

/** What POST /auth/mfa/verify accepts: an app's code, a recovery code, a mailed code, a passkey or security key. */
export const SECOND_FACTOR_METHODS = ["totp", "recovery_code", "email", "webauthn"] as const;
export type SecondFactorMethod = (typeof SECOND_FACTOR_METHODS)[number];
/** The methods proven by a typed code. */
export type CodeMethod = Exclude<SecondFactorMethod, "webauthn">;

/** Where a user's second factors are found: the factor table, and the passkeys (each can finish a sign-in). */
export type SecondFactorSources = { factors: FactorStore; passkeys: Pick<PasskeyStore, "hasAny"> };

/** The MFA_REQUIRED answer's extensions: how the client finishes the sign-in. */
export type MfaRequirement = { mfaToken: string; methods: SecondFactorMethod[]; expiresAt: string };

/**
 * The methods a user can finish a sign-in with after `firstMethod`. A mailed code after a code sign-in would
 * prove the same mailbox twice, so email is not offered then; nor while the address is unverified (changed since).
 * A passkey is offered whenever the user has one (it does not by itself make a second factor required: see
 * docs/passkeys.md).
 */
export async function methodsFor({ factors, passkeys }: SecondFactorSources, user: UserRow, firstMethod: string): Promise<SecondFactorMethod[]> {
  const rows = await factors.list(user.id);
  const has = (type: string) => rows.some((row) => row.type === type && row.confirmedAt !== null);
  const methods: SecondFactorMethod[] = [];
  if (has("totp")) methods.push("totp");
  if (has("email") && firstMethod !== "email" && user.emailVerified) methods.push("email");
  if (await passkeys.hasAny(user.id)) methods.push("webauthn");
  if ((await factors.recoveryCodesLeft(user.id)) > 0) methods.push("recovery_code");
  return methods;
}

/**
 * The second-factor step of the sign-in flow: for a user with a confirmed second factor, the proven first factor
 * becomes an mfaToken instead of a session.
 */
export function createSecondFactorGate(deps: { sources: SecondFactorSources; challenges: MfaChallenges; audit: Pick<AuditLog, "record"> }) {
  const { sources, challenges, audit } = deps;
  return {
    /** users.mfa_enabled is on the row the first factor already read: users without MFA cost nothing here. */
    isRequired: (user: UserRow) => user.mfaEnabled,

    async challenge(user: UserRow, firstMethod: AuthMethod, context: Parameters<AuditLog["record"]>[2]): Promise<MfaRequirement> {
      const methods = await methodsFor(sources, user, firstMethod);
      const { mfaToken, expiresAt } = await challenges.create(user.id, firstMethod);
      await audit.record("mfa.challenged", { userId: user.id, payload: { firstMethod, methods } }, context);
      return { mfaToken, methods, expiresAt: expiresAt.toISOString() };
    },
  };
}

export type SecondFactorGate = ReturnType<typeof createSecondFactorGate>;
