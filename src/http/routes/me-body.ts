import { type PublicUser, toPublicUser, type UserRow } from "../../auth/users.ts";
import type { AuthenticatedSession } from "../../sessions/session-service.ts";
import { type JsonText, jsonText } from "../json-text.ts";
import { assuranceJson } from "../schemas.ts";

type MeBody = { user: PublicUser; session: { id: string; createdAt: string; expiresAt: string } & ReturnType<typeof assuranceJson> };

/**
 * GET /auth/me's body, serialized once per cached session and user instead of on every request (the user's dates
 * and JSON cost more than the rest of the handler). Sound because the session cache (src/sessions/session-cache.ts)
 * replaces those objects when either changes and never edits them: while a session row and a user row are the
 * same objects, the answer is the same bytes. Held weakly: a body goes when its cache entry does.
 */
export function createMeBodies() {
  const bodies = new WeakMap<AuthenticatedSession["session"], { user: UserRow; json: JsonText<MeBody> }>();
  return function meBody({ session, user }: AuthenticatedSession): JsonText<MeBody> {
    const known = bodies.get(session);
    if (known !== undefined && known.user === user) return known.json;
    const json = jsonText<MeBody>({
      user: toPublicUser(user),
      session: { id: session.id, createdAt: session.createdAt.toISOString(), expiresAt: session.expiresAt.toISOString(), ...assuranceJson(session) },
    });
    bodies.set(session, { user, json });
    return json;
  };
}
