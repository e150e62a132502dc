import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, lte } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { webauthnChallenges } from "../db/tables/passkeys.ts";

/** A ceremony's challenge lives this long: enough for a PIN or a fingerprint, short for a captured one. */
export const WEBAUTHN_CHALLENGE_TTL_SECONDS = 300;

/**
 * What a challenge was handed out for; a challenge from one flow cannot complete another. Registration is bound to
 * the signed-in user, a second factor to the mfaToken's challenge row; a passwordless sign-in to nobody yet.
 */
export type CeremonyFlow = { kind: "registration"; userId: string } | { kind: "login" } | { kind: "mfa"; mfaChallengeId: string };

const flowKey = (flow: CeremonyFlow) =>
  flow.kind === "registration" ? `registration:${flow.userId}` : flow.kind === "mfa" ? `mfa:${flow.mfaChallengeId}` : "login";

const hashOf = (challenge: string) => createHash("sha256").update(challenge).digest("base64url");

/** Ours are 43 characters (32 bytes, base64url); a longer one, or anything else, was never handed out. */
const MAX_CHALLENGE_LENGTH = 128;

/**
 * The `challenge` of a decoded clientDataJSON, or null when it cannot be one of ours: clientDataJSON is the
 * client's JSON, so the field may be missing, a number, an object or a megabyte of text.
 */
export const usableChallenge = (challenge: unknown): string | null =>
  typeof challenge === "string" && challenge.length > 0 && challenge.length <= MAX_CHALLENGE_LENGTH ? challenge : null;

/**
 * Ceremony challenges in the database, not in a process: any instance can hand one out and any can consume it.
 * Only a hash is kept, and a DELETE ... RETURNING consumes it, so a challenge is used once across instances and
 * concurrent requests.
 */
export function createWebAuthnChallenges(db: Database, now: () => Date) {
  return {
    /** A fresh 256-bit challenge (base64url, as it goes into the options) for this flow. */
    async issue(flow: CeremonyFlow): Promise<string> {
      const challenge = randomBytes(32).toString("base64url");
      const issuedAt = now();
      await db.insert(webauthnChallenges).values({
        challengeHash: hashOf(challenge),
        flow: flowKey(flow),
        expiresAt: new Date(issuedAt.getTime() + WEBAUTHN_CHALLENGE_TTL_SECONDS * 1000),
        createdAt: issuedAt,
      });
      return challenge;
    },

    /**
     * Uses the challenge a response carries: true once, if it was handed out for this flow and has not expired. A
     * challenge presented to another flow is spent as well, so it cannot be tried again where it belongs. Anything
     * but a plausible challenge string (from a client's JSON, whatever its declared type) is false.
     */
    async consume(challenge: unknown, flow: CeremonyFlow): Promise<boolean> {
      const usable = usableChallenge(challenge);
      if (usable === null) return false;
      const [row] = await db
        .delete(webauthnChallenges)
        .where(and(eq(webauthnChallenges.challengeHash, hashOf(usable)), gt(webauthnChallenges.expiresAt, now())))
        .returning({ flow: webauthnChallenges.flow });
      return row?.flow === flowKey(flow);
    },

    async purgeExpired(): Promise<void> {
      await db.delete(webauthnChallenges).where(lte(webauthnChallenges.expiresAt, now()));
    },
  };
}

export type WebAuthnChallenges = ReturnType<typeof createWebAuthnChallenges>;
