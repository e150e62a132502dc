import { PasskeyName } from "../http/webauthn-schemas.ts";
import type { PasskeyRow } from "../passkeys/passkey-store.ts";
import { z } from "zod";
import type { GraphqlBuilder } from "./builder.ts";
import type { GraphqlDeps } from "./deps.ts";
import type { MeRef } from "./queries/me.ts";
import { sessionOf, validArgs } from "./validate.ts";

const RenameArgs = z.object({ id: z.string().max(64), name: PasskeyName });

/**
 * Me.passkeys and Mutation.renamePasskey (GET /auth/passkeys, PATCH /auth/passkeys/{id}). Registering, signing in
 * and removing stay REST: they are WebAuthn ceremonies or need a fresh authentication (docs/graphql.md).
 */
export function addPasskeys(builder: GraphqlBuilder, deps: Pick<GraphqlDeps, "passkeyManagement" | "stepUp">, refs: { me: MeRef }) {
  const Passkey = builder.objectRef<PasskeyRow>("Passkey").implement({
    description: "A passkey or security key of the user's (WebAuthn)",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name"),
      createdAt: t.expose("createdAt", { type: "DateTime" }),
      lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true }),
      backedUp: t.exposeBoolean("backedUp", { description: "Synced to other devices (a multi-device passkey)" }),
      deviceType: t.exposeString("deviceType", { description: "singleDevice or multiDevice" }),
      transports: t.exposeStringList("transports"),
    }),
  });

  builder.objectField(refs.me, "passkeys", (t) =>
    t.field({ type: [Passkey], authScopes: { signedIn: true }, resolve: ({ user }) => deps.passkeyManagement.list(user.id) }),
  );

  builder.mutationField("renamePasskey", (t) =>
    t.field({
      type: Passkey,
      description: "Rename one of the caller's passkeys; NOT_FOUND for any other id, FORBIDDEN from an impersonation session",
      authScopes: { notApiKey: true },
      args: { id: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
      resolve: (_root, args, context) => {
        const { id, name } = validArgs(RenameArgs, { id: String(args.id), name: args.name });
        const auth = sessionOf(context);
        deps.stepUp.assertOwnSession(auth.session); // as PATCH /auth/passkeys/{id}: not from an impersonation
        return deps.passkeyManagement.rename(auth.user, id, name, context.audit);
      },
    }),
  );
}
