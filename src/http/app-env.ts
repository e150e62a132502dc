import type { LimitState } from "../abuse/limiter.ts";
import type { AuthenticatedSession } from "../sessions/session-service.ts";

export type Authentication = AuthenticatedSession & { via: "bearer" | "cookie" };

/** Hono's typed context: what middleware puts on a request for the handlers after it. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** The client's address as configured by TRUST_PROXY; null only where there is no socket (in-process tests). */
    clientIp: string | null;
    /** Set by authenticate; on public routes it is unset despite the type (read it as possibly undefined there). */
    auth: Authentication;
    /** The tightest rate-limit state seen so far, advertised in RateLimit headers. */
    rateLimit?: LimitState;
  };
};
