import type { AuthenticatedSession } from "../../sessions/session-service.ts";
import type { GraphqlBuilder } from "../builder.ts";
import type { GraphqlDeps } from "../deps.ts";
import type { SessionRef } from "../types/session.ts";
import { sessionOf } from "../validate.ts";

/**
 * Query.me: the signed-in user with roles, the current session, every session, second factors and linked
 * accounts (GET /auth/me, /auth/sessions, /auth/mfa, /auth/me/accounts in one). Returns the Me type, to which
 * later areas add fields (src/graphql/schema.ts).
 */
export function addMe(builder: GraphqlBuilder, deps: GraphqlDeps, refs: { session: SessionRef }) {
  const CurrentSession = builder.objectRef<AuthenticatedSession["session"]>("CurrentSession").implement({
    description: "The session this request was authenticated with",
    fields: (t) => ({
      id: t.exposeID("id"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
      amr: t.exposeStringList("amr"),
      aal: t.exposeInt("aal"),
      authTime: t.expose("authTime", { type: "DateTime" }),
    }),
  });
  const SecondFactor = builder.objectRef<{ type: string; createdAt: string; lastUsedAt: string | null }>("SecondFactor").implement({
    description: "A confirmed second factor",
    fields: (t) => ({
      type: t.exposeString("type", { description: "totp, email, or webauthn (the user has passkeys: /auth/passkeys)" }),
      createdAt: t.field({ type: "DateTime", resolve: (factor) => new Date(factor.createdAt) }),
      lastUsedAt: t.field({ type: "DateTime", nullable: true, resolve: (factor) => (factor.lastUsedAt === null ? null : new Date(factor.lastUsedAt)) }),
    }),
  });
  type Status = Awaited<ReturnType<GraphqlDeps["mfaEnrolment"]["status"]>>;
  const SecondFactors = builder.objectRef<Status>("SecondFactors").implement({
    fields: (t) => ({
      methods: t.field({ type: [SecondFactor], resolve: (status) => status.methods }),
      recoveryCodesLeft: t.exposeInt("recoveryCodesLeft"),
      policy: t.exposeString("policy", { description: "The server's MFA_POLICY: optional or required" }),
    }),
  });
  type Linked = Awaited<ReturnType<GraphqlDeps["linkedAccounts"]["list"]>>["identities"][number];
  const LinkedAccount = builder.objectRef<Linked>("LinkedAccount").implement({
    description: "A sign-in provider linked to the account",
    fields: (t) => ({
      id: t.exposeID("id"),
      provider: t.exposeString("provider"),
      email: t.exposeString("email", { nullable: true, description: "The address the provider gave at the latest sign-in" }),
      linkedAt: t.expose("linkedAt", { type: "DateTime" }),
    }),
  });

  const Me = builder.objectRef<AuthenticatedSession>("Me").implement({
    description: "The signed-in user, as they see themselves",
    fields: (t) => ({
      id: t.id({ resolve: ({ user }) => user.id }),
      email: t.string({ resolve: ({ user }) => user.email }),
      username: t.string({ nullable: true, resolve: ({ user }) => user.username }),
      emailVerified: t.boolean({ resolve: ({ user }) => user.emailVerified }),
      createdAt: t.field({ type: "DateTime", resolve: ({ user }) => user.createdAt }),
      updatedAt: t.field({ type: "DateTime", resolve: ({ user }) => user.updatedAt }),
      roles: t.stringList({ resolve: ({ user }) => user.roles }),
      session: t.field({ type: CurrentSession, resolve: ({ session }) => session }),
      // As GET /auth/sessions and /auth/me/accounts: past MFA_POLICY=required's gate only (GET /auth/mfa is before it).
      sessions: t.field({ type: [refs.session], authScopes: { signedIn: true }, resolve: (auth) => deps.ownSessions.list(auth) }),
      secondFactors: t.field({ type: SecondFactors, resolve: ({ user }) => deps.mfaEnrolment.status(user) }),
      linkedAccounts: t.field({ type: [LinkedAccount], authScopes: { signedIn: true }, resolve: async ({ user }) => (await deps.linkedAccounts.list(user.id)).identities }),
      hasPassword: t.boolean({ authScopes: { signedIn: true }, resolve: async ({ user }) => (await deps.linkedAccounts.list(user.id)).password }),
    }),
  });

  builder.queryField("me", (t) =>
    t.field({
      type: Me,
      // Any live session, as GET /auth/me: MFA_POLICY=required lets a session that must still enrol see who it is.
      authScopes: { session: true },
      resolve: (_root, _args, context) => sessionOf(context),
    }),
  );
  return Me;
}

/** The Me type, for the areas that add fields to it (src/graphql/schema.ts). */
export type MeRef = ReturnType<typeof addMe>;
