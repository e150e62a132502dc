import { randomBytes } from "node:crypto";
import { findUserByEmail } from "../auth/users.ts";
import type { OtpConfig } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { Composers } from "../outbox/compose-channel.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import { createCodeHasher, generateCode, isWellFormedCode } from "./codes.ts";
import type { OtpKeyStore } from "./otp-keys.ts";
import {
  type ChallengeState,
  type Credential,
  currentCredential,
  openState,
  sealState,
  stateExpiresAt,
} from "./sealed-state.ts";
import type { SingleUseIds } from "./single-use-ids.ts";

export type OtpPurpose = ChallengeState["purpose"];

/** A state handed to the client: the sealed string and what the answer tells about its current code. */
export type IssuedChallenge = { challenge: string; state: ChallengeState; expiresAt: Date; resendAvailableAt: Date };

export type VerifyOutcome =
  | { status: "verified"; state: ChallengeState; credential: Credential }
  | { status: "wrong"; attemptsLeft: number; next: IssuedChallenge };

/** What a create asks for: an address, a purpose, and for verify-email and reauthenticate the signed-in user. */
export type ChallengeRequest = { to: string; purpose: OtpPurpose; userId: string | null };

/** Runs before a code is made for `to` (the send budgets); throws to refuse. */
export type BeforeSending = (to: string) => Promise<void>;

/** The wrong codes an address may take across its challenges: checked before an attempt, counted after a wrong one. */
export type AttemptBudget = { assertAvailable(to: string): Promise<void>; countWrong(to: string): Promise<void> };

/** OTP_RESEND_TOO_SOON with the wait, in whole seconds (Retry-After). */
export function resendTooSoon(waitMs: number): AppError {
  return new AppError("OTP_RESEND_TOO_SOON", { retryAfterSeconds: Math.max(Math.ceil(waitMs / 1000), 1) });
}

/** What a refusal hands the client to continue with: the challenge in the problem, and as the cookie (src/http/challenge-cookie.ts). */
export const continuationOf = (issued: Pick<IssuedChallenge, "challenge" | "state">) => ({
  nextChallenge: { challenge: issued.challenge, expiresAt: new Date(stateExpiresAt(issued.state)) },
  extensions: { challenge: issued.challenge },
});

/** A wrong code (verify's "wrong" outcome): OTP_INVALID_CODE with the attempts left and the next state to try with. */
export function wrongCode(next: Pick<IssuedChallenge, "challenge" | "state">, attemptsLeft: number): AppError {
  const { nextChallenge, extensions } = continuationOf(next);
  return new AppError("OTP_INVALID_CODE", { nextChallenge, extensions: { ...extensions, attemptsLeft } });
}

/** A code to mail, as the outbox keeps it until composed (sealed: it holds the code); `send` false: no mail. */
export type CodeIntent = { type: "one-time-code"; to: string; code: string; purpose: OtpPurpose; send: boolean };

export type OtpServiceDeps = {
  db: Database;
  config: OtpConfig;
  authSecret: string;
  keys: OtpKeyStore;
  ids: SingleUseIds;
  mail: Pick<MailOutbox, "compose">;
};

/**
 * One-time codes with the challenge state on the client: sealed (see sealed-state.ts), and single-use, since every
 * state's id is consumed from the shared store before the state is acted on. Every change of a state (a wrong
 * code, a resend, another address) is a new state with a new id; the old one is spent.
 */
export function createOtpService({ db, config, authSecret, keys, ids, mail }: OtpServiceDeps) {
  const hasher = createCodeHasher(authSecret);

  function newCredential(to: string, now: number): { credential: Credential; code: string } {
    const code = generateCode(config.length);
    const credential: Credential = {
      channel: "email",
      to,
      ...hasher.hash(to, code),
      expiresAt: now + config.ttlSeconds * 1000,
      resendAvailableAt: now + config.resendDelaySeconds * 1000,
    };
    return { credential, code };
  }

  /**
   * Mails the code, through the outbox's compose lane (the answer's timing does not depend on it). A sign-in code
   * goes only to an address with an account, or to any address with OTP_SIGNUP; otherwise nothing is sent and the
   * challenge can never be passed. Returns whether a code was sent.
   */
  async function deliver(purpose: OtpPurpose, to: string, code: string): Promise<boolean> {
    const send = purpose !== "sign-in" || config.signUp || (await findUserByEmail(db, to)) !== undefined;
    // Written alike whether or not a code goes out, so the request's own work does not depend on the account.
    await mail.compose<CodeIntent>({ type: "one-time-code", to, code, purpose, send });
    return send;
  }

  const composers: Composers<CodeIntent> = {
    "one-time-code": async ({ to, code, purpose, send }) => ({ mail: send ? mails.oneTimeCode(to, code, purpose, config.ttlSeconds) : null }),
  };

  /** Registers a fresh single-use id for the state and seals it. */
  async function issue(state: Omit<ChallengeState, "id">): Promise<IssuedChallenge> {
    const next: ChallengeState = { ...state, id: randomBytes(16).toString("base64url") };
    await ids.issue(next.id, new Date(stateExpiresAt(next)));
    const credential = currentCredential(next);
    return {
      challenge: await sealState(next, keys.current()),
      state: next,
      expiresAt: new Date(credential.expiresAt),
      resendAvailableAt: new Date(credential.resendAvailableAt),
    };
  }

  /** A first state holding one address, with the full attempt budget; mails its code. */
  async function startChallenge(
    input: ChallengeRequest,
    credential: Credential,
    code: string,
  ): Promise<IssuedChallenge & { sent: boolean }> {
    const sent = await deliver(input.purpose, input.to, code);
    const fresh = { v: 1 as const, purpose: input.purpose, userId: input.userId, credentials: [credential], current: 0 };
    return { ...(await issue({ ...fresh, attemptsLeft: config.maxAttempts, resends: 0 })), sent };
  }

  async function spend(state: ChallengeState): Promise<void> {
    if (!(await ids.consume(state.id))) throw new AppError("OTP_CHALLENGE_INVALID");
  }

  return {
    /** The state in a challenge string: OTP_CHALLENGE_INVALID when missing, damaged, foreign or malformed. */
    async open(challenge: string | undefined): Promise<ChallengeState> {
      if (challenge === undefined) throw new AppError("OTP_CHALLENGE_INVALID", { message: "No challenge was presented" });
      return openState(challenge, (kid) => keys.find(kid));
    },

    /**
     * Starts a challenge, or continues the presented one (same purpose and user, still alive): a new address is
     * added and gets a code; an address it already holds becomes current again without a new code. A presented
     * state that cannot continue (spent, expired, another purpose) is ignored and a new challenge starts.
     * `beforeSending` runs before any code is made and before the presented state is spent, so a refusal there
     * (a send budget) leaves the client's challenge as it was and charges nothing for a switch without a code.
     */
    async create(
      input: ChallengeRequest,
      presented: ChallengeState | null,
      beforeSending: BeforeSending,
    ): Promise<IssuedChallenge & { sent: boolean }> {
      const now = Date.now();
      const continuing =
        presented !== null && presented.purpose === input.purpose && presented.userId === input.userId && stateExpiresAt(presented) > now
          ? presented
          : null;
      if (continuing !== null) {
        const index = continuing.credentials.findIndex((credential) => credential.to === input.to);
        if (index >= 0 && (await ids.consume(continuing.id))) return { ...(await issue({ ...continuing, current: index })), sent: false };
        if (index < 0) {
          // A spent state is no challenge to continue: a full one must not block a new challenge.
          if (continuing.credentials.length >= config.maxCredentials && (await ids.isLive(continuing.id))) {
            throw new AppError("OTP_TOO_MANY_CREDENTIALS");
          }
          await beforeSending(input.to);
          const { credential, code } = newCredential(input.to, now);
          if (await ids.consume(continuing.id)) {
            const sent = await deliver(input.purpose, input.to, code);
            const credentials = [...continuing.credentials, credential];
            return { ...(await issue({ ...continuing, credentials, current: credentials.length - 1 })), sent };
          }
          return startChallenge(input, credential, code);
        }
      }
      await beforeSending(input.to);
      const { credential, code } = newCredential(input.to, now);
      return startChallenge(input, credential, code);
    },

    /**
     * A new code for the current address; the previous one stops working. A spent state is OTP_CHALLENGE_INVALID
     * before any other refusal but expiry; refusals of a live one (too soon, limit reached, a send budget) leave it
     * as it was, still good for verifying.
     */
    async resend(state: ChallengeState, beforeSending: BeforeSending): Promise<IssuedChallenge & { sent: boolean }> {
      const now = Date.now();
      const previous = currentCredential(state);
      if (stateExpiresAt(state) <= now) throw new AppError("OTP_EXPIRED");
      if (!(await ids.isLive(state.id))) throw new AppError("OTP_CHALLENGE_INVALID");
      if (state.resends >= config.maxResends) throw new AppError("OTP_RESEND_LIMIT");
      if (now < previous.resendAvailableAt) throw resendTooSoon(previous.resendAvailableAt - now);
      await beforeSending(previous.to);
      await spend(state);
      const { credential, code } = newCredential(previous.to, now);
      const sent = await deliver(state.purpose, previous.to, code);
      const credentials = state.credentials.map((existing, index) => (index === state.current ? credential : existing));
      return { ...(await issue({ ...state, credentials, resends: state.resends + 1 })), sent };
    },

    /**
     * Checks a code against the current address. `attempts` is the per-address budget of wrong codes, across all
     * challenges for the address: checked (not counted) first, so a refused or replayed state costs the address
     * nothing; then the state is consumed, in one atomic step, so each state answers one attempt; a wrong code is
     * counted and returns the next state with one attempt fewer; the last allowed wrong code burns the challenge
     * (OTP_TOO_MANY_ATTEMPTS).
     */
    async verify(state: ChallengeState, code: string, attempts: AttemptBudget): Promise<VerifyOutcome> {
      // The route refuses these already; here too, so no caller can spend a state on a code that cannot match.
      if (!isWellFormedCode(code, config.length)) throw new AppError("VALIDATION_FAILED", { errors: [{ path: "code", message: "Not a code" }] });
      const credential = currentCredential(state);
      // Not an attempt: nothing is compared, and the state stays good for a resend.
      if (credential.expiresAt <= Date.now()) throw new AppError("OTP_EXPIRED");
      await attempts.assertAvailable(credential.to);
      await spend(state);
      if (hasher.matches(credential, code)) return { status: "verified", state, credential };
      await attempts.countWrong(credential.to);
      const attemptsLeft = state.attemptsLeft - 1;
      if (attemptsLeft <= 0) throw new AppError("OTP_TOO_MANY_ATTEMPTS");
      return { status: "wrong", attemptsLeft, next: await issue({ ...state, attemptsLeft }) };
    },

    /**
     * The same challenge under a fresh id, for a state spent by a right code whose sign-in was then refused for a
     * reason the client can wait out (the registration budget): the code stays good for a retry.
     */
    reissue: (state: ChallengeState) => issue(state),

    purgeExpired: () => ids.purgeExpired(),

    composers,
  };
}

export type OtpService = ReturnType<typeof createOtpService>;
