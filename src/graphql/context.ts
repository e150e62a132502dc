import type DataLoader from "dataloader";
import type { Context } from "hono";
import type { Attempt } from "../flows/sign-in-flow.ts";
import type { AppEnv, Authentication } from "../http/app-env.ts";
import type { AuditContext } from "../observability/audit.ts";
import type { SessionListing } from "../sessions/session-service.ts";

/** Batches of one request: each loads what a page of parents needs in one query. */
export type Loaders = { sessionsOfUser: DataLoader<string, SessionListing[]> };

/** What every resolver of one GraphQL request gets. */
export type GraphqlContext = {
  /** The request's session; null when it presented no credentials (a resolver that needs one refuses UNAUTHENTICATED). */
  auth: Authentication | null;
  /** The HTTP request, for the rate limits of the same REST operations (RequestLimits takes it). */
  http: Context<AppEnv>;
  /** Who, from where, and the request's limits, as the sign-in flow and step-up see an attempt. */
  attempt: Attempt;
  audit: AuditContext;
  loaders: Loaders;
  /** Clears the session cookies on the response (logout of a cookie session). */
  clearSessionCookies: () => void;
};
