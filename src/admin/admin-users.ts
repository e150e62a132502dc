import { eq } from "drizzle-orm";
import type { PasswordReset } from "../auth/password-reset.ts";
import { asTakenError, isEmailTaken, isUsernameTaken, type UserRow } from "../auth/users.ts";
import type { VerificationTokens } from "../auth/verification-tokens.ts";
import type { Database } from "../db/client.ts";
import { sessions } from "../db/tables/sessions.ts";
import { users } from "../db/tables/users.ts";
import type { MailOutbox } from "../outbox/mail-outbox.ts";
import { mails, tokenLink } from "../delivery/templates.ts";
import { AppError } from "../errors.ts";
import type { Registration } from "../flows/registration.ts";
import type { AuditEventType, AuditLog } from "../observability/audit.ts";
import type { RevocationBus } from "../sessions/revocation-bus.ts";
import type { Actor } from "./actor.ts";
import { changeGuardingLastAdmin } from "./last-admin-guard.ts";
import { ADMIN_ROLE, isAdmin, normalizeRoles } from "./roles.ts";
import { findUser } from "./user-directory.ts";

export type NewUserByAdmin = { email: string; password?: string | undefined; username?: string | undefined; roles?: string[] | undefined; emailVerified?: boolean | undefined };
export type UserPatch = { email?: string | undefined; username?: string | null | undefined; emailVerified?: boolean | undefined; roles?: string[] | undefined };

export type AdminUsersDeps = {
  db: Database;
  bus: RevocationBus;
  registration: Pick<Registration, "register">;
  passwordReset: Pick<PasswordReset, "message">;
  tokens: VerificationTokens;
  mail: MailOutbox;
  audit: Pick<AuditLog, "recordOrFail">;
  /** The reset-password link template; an invitation is a reset link with a longer life. */
  resetLink: string;
  invitationTtlSeconds: number;
  now: () => Date;
};

/**
 * Creating, changing and deleting users as an administrator (the HTTP admin API and the CLI). Every change is
 * published on the revocation bus, so a demotion or an email change reaches every instance's cached user at
 * once, and audited on the target's account with the acting administrator as actor.
 */
export function createAdminUsers(deps: AdminUsersDeps) {
  const { db, bus, audit } = deps;

  const record = (type: AuditEventType, userId: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    audit.recordOrFail(type, { userId, actorId: actor.adminId, payload }, actor.audit);

  async function setRolesOf(userId: string, roles: string[]): Promise<UserRow> {
    const wanted = normalizeRoles(roles);
    const updated = await changeGuardingLastAdmin(deps, userId, deps.now(), {
      staysAdmin: () => wanted.includes(ADMIN_ROLE),
      apply: async (tx, target) => (await tx.update(users).set({ roles: wanted }).where(eq(users.id, target.id)).returning())[0] ?? target,
    });
    await bus.publish({ kind: "user", userId });
    return updated;
  }

  /** A passwordless user, mailed an invitation whose link sets the first password (POST /auth/reset-password). */
  async function invite(input: NewUserByAdmin): Promise<UserRow> {
    if (input.username !== undefined && (await isUsernameTaken(db, input.username))) throw new AppError("USERNAME_TAKEN");
    if (await isEmailTaken(db, input.email)) throw new AppError("EMAIL_TAKEN");
    const [created] = await db
      .insert(users)
      .values({ email: input.email, username: input.username ?? null, emailVerified: input.emailVerified === true })
      .returning()
      .catch((error: unknown) => Promise.reject(asTakenError(error)));
    if (created === undefined) throw new Error("user insert returned nothing");
    const token = await deps.tokens.issue("reset-password", created.id, deps.invitationTtlSeconds);
    await deps.mail.enqueue(mails.invitation(created.email, tokenLink(deps.resetLink, token), deps.invitationTtlSeconds));
    return created;
  }

  return {
    /**
     * A new user: with a password (the registration's policy, a verification mail unless `emailVerified`), or
     * without one and invited by mail. Roles are set after creation, so a new administrator is made like any demotion
     * or promotion: under the last-admin guard and published.
     */
    async create(input: NewUserByAdmin, actor: Actor): Promise<UserRow> {
      const { password } = input;
      let user =
        password === undefined
          ? await invite(input)
          : await deps.registration.register({ email: input.email, password, username: input.username }, { verified: input.emailVerified === true });
      if (input.roles !== undefined) user = await setRolesOf(user.id, input.roles);
      await record("admin.user_created", user.id, actor, { roles: user.roles, invited: password === undefined });
      return user;
    },

    /**
     * Email, username, emailVerified and roles. A new email is unverified (emailVerified: true with it is
     * VALIDATION_FAILED: a new address is proven by its owner, not vouched for), the old address is told, and every
     * session of the user ends: whoever holds the new address may now sign in with it. An administrator's email is
     * theirs to change (CANNOT_CHANGE_ADMIN_EMAIL): otherwise one administrator could point another's account at
     * their own mailbox and sign in as them. Removing the admin role from the last active administrator is
     * LAST_ADMIN; removing it from any administrator ends the impersonation sessions they opened.
     */
    async update(userId: string, patch: UserPatch, actor: Actor): Promise<UserRow> {
      const current = await findUser(db, userId);
      const changes: Partial<typeof users.$inferInsert> = {};
      const newEmail = patch.email !== undefined && patch.email !== current.email;
      if (newEmail && patch.emailVerified === true) {
        throw new AppError("VALIDATION_FAILED", { errors: [{ path: "emailVerified", message: "A new email is verified by its owner, not set verified" }] });
      }
      if (newEmail) {
        changes.email = patch.email;
        changes.emailVerified = false;
      } else if (patch.emailVerified !== undefined) changes.emailVerified = patch.emailVerified;
      if (patch.username !== undefined && patch.username !== current.username) changes.username = patch.username;
      const roles = patch.roles === undefined ? undefined : normalizeRoles(patch.roles);
      if (roles !== undefined) changes.roles = roles;
      const { updated, endedSessions } = await changeGuardingLastAdmin(deps, userId, deps.now(), {
        staysAdmin: (target) => (roles ?? target.roles).includes(ADMIN_ROLE),
        apply: async (tx, target) => {
          // Read under the row lock, so a promotion racing this change cannot slip an admin's email past the check.
          if (newEmail && (isAdmin(target) || roles?.includes(ADMIN_ROLE) === true)) throw new AppError("CANNOT_CHANGE_ADMIN_EMAIL");
          if (Object.keys(changes).length === 0) return { updated: target, endedSessions: [] };
          const [row] = await tx.update(users).set(changes).where(eq(users.id, target.id)).returning().catch((error: unknown) => Promise.reject(asTakenError(error)));
          const ended = newEmail ? await tx.delete(sessions).where(eq(sessions.userId, target.id)).returning({ id: sessions.id }) : [];
          // The owner learns of it at the address they had (an email change is how accounts are taken over): the
          // notice commits with the change, or neither does.
          if (newEmail) await deps.mail.enqueue(mails.emailChanged(target.email, patch.email ?? ""), tx);
          return { updated: row ?? target, endedSessions: ended.map((session) => session.id) };
        },
      });
      if (newEmail) deps.mail.wake();
      await bus.publish({ kind: "user", userId });
      const changed = Object.keys(changes).filter((field) => field !== "roles" || current.roles.join() !== updated.roles.join());
      await record("admin.user_updated", userId, actor, {
        changed,
        ...(roles === undefined ? {} : { roles: updated.roles }),
        ...(newEmail ? { sessionsEnded: endedSessions.length } : {}),
      });
      return updated;
    },

    /** The user's roles, from the CLI (`servauth users set-roles`), with the same guard and audit as PATCH. */
    async setRoles(userId: string, roles: string[], actor: Actor): Promise<UserRow> {
      const updated = await setRolesOf(userId, roles);
      await record("admin.user_updated", userId, actor, { changed: ["roles"], roles: updated.roles });
      return updated;
    },

    /**
     * Deletes the user now, with no grace; LAST_ADMIN for the last active administrator. The impersonation sessions
     * the user opened as an administrator end too, on every instance (the guard).
     */
    async remove(userId: string, actor: Actor): Promise<void> {
      await changeGuardingLastAdmin(deps, userId, deps.now(), {
        staysAdmin: () => false,
        apply: (tx, target) => tx.delete(users).where(eq(users.id, target.id)),
      });
      await bus.publish({ kind: "user", userId });
      await record("admin.user_deleted", userId, actor);
    },

    /** Mails the user a password-reset link, as POST /auth/forgot-password would. */
    async sendPasswordReset(userId: string, actor: Actor): Promise<void> {
      const user = await findUser(db, userId);
      await deps.mail.enqueue(await deps.passwordReset.message(user));
      await record("admin.password_reset_sent", userId, actor);
    },
  };
}

export type AdminUsers = ReturnType<typeof createAdminUsers>;
