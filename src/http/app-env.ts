import type { LimitState } from "../abuse/limiter.ts";
import type { AuthenticatedSession } from "../sessions/session-service.ts";
import type { ClientAddress } from "./middleware/client-ip.ts";

/**
 * Who the request is from: a session (a bearer access token or the session cookie), or a personal API key, whose
 * `session` is a view of the key (its id, its lifetime, amr ["key"]) so that what only reads the user and the
 * assurance works the same; anything sensitive refuses it (src/flows/step-up.ts).
 */
export type Authentication =
  | (AuthenticatedSession & { via: "bearer" | "cookie" })
  | (AuthenticatedSession & { via: "key"; apiKey: { id: string; scopes: string[] } });

/** Hono's typed context: what middleware puts on a request for the handlers after it. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** The client's address as configured by TRUST_PROXY, read when first asked (client-ip.ts). */
    client: ClientAddress;
    /** Set by authenticate; on public routes it is unset despite the type (read it as possibly undefined there). */
    auth: Authentication;
    /** The tightest rate-limit state seen so far, advertised in RateLimit headers. */
    rateLimit?: LimitState;
    /** The session cookie's value (null: none), read once by the cookie jar's readSession. */
    sessionCookie?: string | null;
    /** Set by watchRequestBody: whether the app is waiting for body bytes the client has yet to send. */
    awaitingClient?: () => boolean;
  };
};
