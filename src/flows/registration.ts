import type { AddressRequests } from "../auth/address-requests.ts";
import type { CredentialService, NewUserInput } from "../auth/credentials.ts";
import type { EmailVerification } from "../auth/email-verification.ts";
import type { PasswordPolicy } from "../auth/password-policy.ts";
import { findOrCreatePasswordlessUser, findUserByEmail, type UserRow } from "../auth/users.ts";
import type { Database } from "../db/client.ts";
import type { Attempt, SignedIn, SignInFlow } from "./sign-in-flow.ts";

export type RegistrationDeps = {
  db: Database;
  /** OTP_SIGNUP: a right sign-in code for an address without an account makes one. */
  codeSignUp: boolean;
  /** REQUIRE_EMAIL_VERIFICATION: nobody is signed in by registering, and a taken address is not told apart. */
  requireEmailVerification: boolean;
  signInFlow: Pick<SignInFlow, "issue">;
  credentials: CredentialService;
  passwordPolicy: PasswordPolicy;
  emailVerification: EmailVerification;
  addressRequests: AddressRequests;
};

/**
 * Every way an account is made: with a password (one service for POST /auth/register and `servauth users create`,
 * so both apply the same policy and make the same account), and by a mailed sign-in code (OTP_SIGNUP).
 */
export function createRegistration(deps: RegistrationDeps) {
  const { db, codeSignUp, credentials, passwordPolicy, emailVerification, addressRequests, signInFlow } = deps;
  const assertAcceptable = (input: NewUserInput) => passwordPolicy.assertAcceptable(input.password, { email: input.email, field: "password" });

  /**
   * The user, created at once (USERNAME_TAKEN, EMAIL_TAKEN) and mailed a verification link. The caller audits
   * user.registered: sign-up with the session it signs the user in to, the CLI as itself. An administrator may
   * vouch for the address instead (`verified`): no mail then.
   */
  async function register(input: NewUserInput, options: { verified?: boolean } = {}): Promise<UserRow> {
    await assertAcceptable(input);
    const user = await credentials.register(input);
    if (options.verified === true) return (await emailVerification.markVerified(user.id, user.email)) ?? user;
    await emailVerification.send(user);
    return user;
  }

  return {
    register,

    /**
     * POST /auth/register, within the client's registration budget: the new user signed in (registering proves
     * the password just chosen, so it is a password session). With REQUIRE_EMAIL_VERIFICATION, null: a taken
     * address is answered like a new one, and the account is made (or its owner warned) after the answer
     * (src/auth/address-requests.ts).
     */
    async signUp(input: NewUserInput, attempt: Attempt): Promise<SignedIn | null> {
      await attempt.limits.consume("registerIp", attempt.audit.ipAddress);
      if (deps.requireEmailVerification) {
        await assertAcceptable(input);
        await addressRequests.register(input, attempt.audit);
        return null;
      }
      const user = await register(input);
      return signInFlow.issue([{ user, method: "pwd" }], attempt, { type: "user.registered" });
    },

    /**
     * Who a right sign-in code for `email` signs in: the address's user, or with OTP_SIGNUP a new one without a
     * password, its address verified by the code (after `beforeSignUp`, the registration budget, which may refuse);
     * null if there is none. Two right codes racing for a new address settle on one user.
     */
    async userForSignInCode(email: string, beforeSignUp: () => Promise<void>): Promise<{ user: UserRow; created: boolean } | null> {
      const existing = await findUserByEmail(db, email);
      if (existing !== undefined) return { user: existing, created: false };
      if (!codeSignUp) return null;
      await beforeSignUp();
      return findOrCreatePasswordlessUser(db, email);
    },
  };
}

export type Registration = ReturnType<typeof createRegistration>;
