import type { RuleName } from "../abuse/rules.ts";
import type { UserRow } from "../auth/users.ts";
import { AppError } from "../errors.ts";
import type { SecondFactorGate } from "../mfa/second-factor-gate.ts";
import type { AuditContext, AuditEventType, AuditLog } from "../observability/audit.ts";
import type { AuthMethod } from "../sessions/assurance.ts";
import type { IssuedSession, SessionService } from "../sessions/session-service.ts";

/** The rate limits of one attempt, bound to its request by the caller (HTTP advertises them, audits refusals). */
export type AttemptLimits = {
  consume(rule: RuleName, subject: string | null): Promise<void>;
  /** Several rules in one round trip, each only while those before it are within their limits (src/abuse/limiter.ts). */
  consumeInOrder(steps: ReadonlyArray<{ name: RuleName; subject: string | null; peek?: boolean }>): Promise<void>;
  assertBelow(rule: RuleName, subject: string | null): Promise<void>;
  countDistinct(rule: RuleName, subject: string | null, member: string): Promise<void>;
  reset(rule: RuleName, subject: string): Promise<void>;
  /** Takes back a hit counted before a check that turned out not to count (src/abuse/limiter.ts). */
  refund(rule: RuleName, subject: string): Promise<void>;
};

/** Who is trying, from where: what a strategy needs besides its own input. */
export type Attempt = {
  client: { ipAddress: string | null; userAgent: string | null };
  audit: AuditContext;
  limits: AttemptLimits;
};

/** A proven factor: the user it identified, the method (RFC 8176 name) it counts as. */
export type Proof = {
  user: UserRow;
  method: AuthMethod;
  /**
   * Asked once the session exists: what let the user in may have been taken away meanwhile (a claim of the
   * address removes a registrant's password: src/auth/account-claim.ts). False ends the new session.
   */
  stillEntitled?: () => Promise<boolean>;
  /** The way in, in the audit trail's login.succeeded payload; none for a password (the first way in). */
  via?: string;
};

/**
 * One way of proving a factor (password, mailed code; later TOTP, recovery code, passkey, social). A strategy
 * owns its own rate limits and failure audit, and throws AppError when the proof fails.
 */
export type Strategy<Input> = { prove(input: Input, attempt: Attempt): Promise<Proof> };

export type SignedIn = { user: UserRow; issued: IssuedSession };

/** What let the user in (login.succeeded, user.registered): audited with the new session's id. */
export type SignInEvent = { type: AuditEventType; payload?: Record<string, unknown> };

export type SignInFlowDeps = {
  sessions: Pick<SessionService, "create" | "revoke">;
  audit: Pick<AuditLog, "recordAll">;
  /** Refuses a proven user who may not have a session (pending deletion, unverified where that is required). */
  assertMaySignIn(user: UserRow): void;
  /** The second-factor step: a user with a second factor gets an mfaToken (MFA_REQUIRED) instead of a session. */
  secondFactor: Pick<SecondFactorGate, "isRequired" | "challenge">;
};

/**
 * The sign-in flow (Kratos's flows x strategies): a strategy proves a factor, the flow decides whether the user
 * may have a session and issues it with the assurance the proofs add up to (src/sessions/assurance.ts), then
 * audits it. Every way in ends here, so a new strategy (or a second factor) changes no handler.
 */
export function createSignInFlow({ sessions, audit, assertMaySignIn, secondFactor }: SignInFlowDeps) {
  /** A session for the user whose proofs (in the order given) passed. Registration signs in this way too. */
  async function issue(proofs: Proof[], attempt: Attempt, event: SignInEvent): Promise<SignedIn> {
    const [first] = proofs;
    if (first === undefined || proofs.some((proof) => proof.user.id !== first.user.id)) throw new Error("proofs must name one user");
    const { user } = first;
    assertMaySignIn(user);
    const issued = await sessions.create(user.id, attempt.client, proofs.map((proof) => proof.method));
    for (const proof of proofs) {
      if (proof.stillEntitled !== undefined && !(await proof.stillEntitled())) {
        await sessions.revoke(user.id, issued.session.id);
        throw new AppError("INVALID_CREDENTIALS");
      }
    }
    const evictions = issued.evictedSessionIds.map((sessionId) => ({
      type: "session.evicted" as const,
      event: { userId: user.id, sessionId, payload: { reason: "session cap" } },
    }));
    await audit.recordAll([{ type: event.type, event: { userId: user.id, sessionId: issued.session.id, payload: event.payload } }, ...evictions], attempt.audit);
    return { user, issued };
  }

  /**
   * Signs in with factors already proven (the mailed code is checked by the one-time-code service first). One
   * factor of a user who has a second one is not enough: MFA_REQUIRED with an mfaToken, and no session; POST
   * /auth/mfa/verify finishes the sign-in (src/flows/mfa-sign-in.ts).
   */
  async function signInProven(proofs: Proof[], attempt: Attempt): Promise<SignedIn> {
    const [first] = proofs;
    if (proofs.length === 1 && first !== undefined && secondFactor.isRequired(first.user)) {
      assertMaySignIn(first.user);
      // Whatever could end the entitlement of the first factor meanwhile is asked again when the sign-in finishes.
      throw new AppError("MFA_REQUIRED", { extensions: await secondFactor.challenge(first.user, first.method, attempt.audit) });
    }
    const via = proofs.find((proof) => proof.via !== undefined)?.via;
    return issue(proofs, attempt, { type: "login.succeeded", ...(via === undefined ? {} : { payload: { via } }) });
  }

  return {
    issue,
    signInProven,

    /** Proves the first factor with `strategy`, then issues the session. */
    async signIn<Input>(strategy: Strategy<Input>, input: Input, attempt: Attempt): Promise<SignedIn> {
      return signInProven([await strategy.prove(input, attempt)], attempt);
    },
  };
}

export type SignInFlow = ReturnType<typeof createSignInFlow>;
