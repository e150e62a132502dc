import { createHmac, hkdfSync } from "node:crypto";
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { refreshTokens, sessions } from "../db/tables/sessions.ts";
import { hashOpaqueToken } from "../tokens/opaque-token.ts";
import type { RevocationBus } from "./revocation-bus.ts";
import { sessionColumns } from "./insert-session.ts";
import { nextExpiry, type SessionInfo, type SessionPolicy } from "./session-service.ts";

export type RotationResult =
  | { status: "rotated"; session: SessionInfo; refreshToken: string; retried: boolean }
  | { status: "invalid" }
  | { status: "reused"; sessionId: string; userId: string; impersonatorId: string | null };

export type RotationPolicy = SessionPolicy & { graceSeconds: number };

/**
 * Refresh-token rotation with reuse detection.
 *
 * The successor of a token is HMAC(key, token): it is never stored (only its hash is), yet a retry presenting the
 * same old token yields the very same successor. So a client whose response was lost gets its pair again inside
 * the grace window, parallel refreshes of one token all end on one lineage, and nothing but hashes is at rest.
 *
 * Presenting a replaced token outside that rule (after the grace window, or once its successor has itself been
 * used) is theft: the whole session is revoked.
 */
export function createRefreshRotation(deps: { db: Database; bus: RevocationBus; policy: RotationPolicy; authSecret: string }) {
  const { db, bus, policy } = deps;
  const successorKey = Buffer.from(hkdfSync("sha256", deps.authSecret, "servauth", "servauth:refresh-successor", 32));
  const successorOf = (token: string) => createHmac("sha256", successorKey).update(token).digest("base64url");

  return async function rotateRefreshToken(presented: string, now: Date = new Date()): Promise<RotationResult> {
    const presentedHash = hashOpaqueToken(presented);
    const successor = successorOf(presented);
    const result = await db.transaction(async (tx): Promise<RotationResult> => {
      const [token] = await tx
        .select({ sessionId: refreshTokens.sessionId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, presentedHash));
      if (token === undefined) return { status: "invalid" };
      // Lock the session before any token row, the order logout and deletion take (sessions, then the cascade
      // into refresh_tokens); the opposite order deadlocks against them. It also serializes exchanges per session.
      const [session] = await tx.select(sessionColumns).from(sessions).where(eq(sessions.id, token.sessionId)).for("update");
      if (session === undefined || session.expiresAt <= now) return { status: "invalid" };

      const [retired] = await tx
        .update(refreshTokens)
        .set({ replacedAt: now })
        .where(and(eq(refreshTokens.tokenHash, presentedHash), isNull(refreshTokens.replacedAt), gt(refreshTokens.expiresAt, now)))
        .returning({ id: refreshTokens.id });
      if (retired !== undefined) {
        // An impersonation session never outlives the IMPERSONATION_TTL it was given: refreshing does not extend it.
        const expiresAt = session.impersonatorId === null ? nextExpiry(policy, session.createdAt, now) : session.expiresAt;
        await tx.update(sessions).set({ expiresAt }).where(eq(sessions.id, session.id));
        await tx.insert(refreshTokens).values({ sessionId: session.id, tokenHash: hashOpaqueToken(successor), expiresAt });
        return { status: "rotated", session: { ...session, expiresAt }, refreshToken: successor, retried: false };
      }

      const [known] = await tx
        .select({ replacedAt: refreshTokens.replacedAt })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, presentedHash));
      // Expired without ever being used (or gone with its session meanwhile): nothing to punish.
      if (known === undefined || known.replacedAt === null) return { status: "invalid" };

      // No window at all when the grace is 0: a replay within the rotation's own millisecond is a replay too.
      const withinGrace = policy.graceSeconds > 0 && now.getTime() - known.replacedAt.getTime() <= policy.graceSeconds * 1000;
      if (withinGrace) {
        const [current] = await tx
          .select({ id: refreshTokens.id })
          .from(refreshTokens)
          .where(and(eq(refreshTokens.tokenHash, hashOpaqueToken(successor)), isNull(refreshTokens.replacedAt)));
        if (current !== undefined) return { status: "rotated", session, refreshToken: successor, retried: true };
      }
      await tx.delete(sessions).where(eq(sessions.id, session.id));
      return { status: "reused", sessionId: session.id, userId: session.userId, impersonatorId: session.impersonatorId };
    });
    if (result.status === "reused") await bus.publish({ kind: "session", sessionId: result.sessionId });
    return result;
  };
}

export type RotateRefreshToken = ReturnType<typeof createRefreshRotation>;
