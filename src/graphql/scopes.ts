import { AppError } from "../errors.ts";
import type { Authentication } from "../http/app-env.ts";
import type { RequestLimits } from "../http/request-limits.ts";
import type { GraphqlContext } from "./context.ts";

/** The scopes a field may require (authScopes: { signedIn: true }). */
export type GraphqlScopeNames = {
  /** Any live session, even one MFA_POLICY=required still holds back: `me` and `logout`, as GET /auth/me and POST /auth/logout. */
  session: boolean;
  /** A live session allowed everything a signed-in user may do (past the MFA_POLICY gate). */
  signedIn: boolean;
  /**
   * signedIn, from a session rather than a personal API key (FORBIDDEN_FOR_API_KEY): what REST guards with
   * refuseApiKey, such as managing keys and passkeys (src/http/middleware/step-up.ts).
   */
  notApiKey: boolean;
  /** An administrator's own session, under the admin API's rules and rate limit (RATE_LIMIT_ADMIN_SESSION). */
  admin: boolean;
};

export type GraphqlScopeDeps = {
  /** MFA_POLICY's test (src/http/middleware/mfa-enrollment-gate.ts). */
  enrollmentRefusal: (auth: Authentication) => AppError | null;
  /** requireAdmin's refusals (src/http/middleware/require-admin.ts). */
  assertAdmin: (auth: Authentication) => void;
  limits: RequestLimits;
};

/**
 * The scopes of one request. Each loader runs at most once per request (scope-auth caches it), so an operation
 * counts once against RATE_LIMIT_ADMIN_SESSION however many admin fields it selects, as one REST call does; the
 * cost budget (src/graphql/cost-budget.ts) bounds what a single operation may ask for. A loader's refusal is
 * thrown as is (STEP_UP_REQUIRED for an unproven second factor, RATE_LIMITED, MFA_ENROLLMENT_REQUIRED).
 */
export function createGraphqlScopes(deps: GraphqlScopeDeps) {
  function signedIn(auth: Authentication | null): auth is Authentication {
    if (auth === null) return false;
    const refusal = deps.enrollmentRefusal(auth);
    if (refusal !== null) throw refusal;
    return true;
  }

  return {
    load: ({ auth, http }: GraphqlContext) => ({
      session: auth !== null,
      signedIn: () => signedIn(auth),
      notApiKey: () => {
        if (!signedIn(auth)) return false;
        if (auth.via === "key") throw new AppError("FORBIDDEN_FOR_API_KEY");
        return true;
      },
      admin: async () => {
        if (!signedIn(auth)) return false;
        deps.assertAdmin(auth);
        await deps.limits.consume(http, "adminSession", auth.session.id);
        return true;
      },
    }),
  };
}

export type GraphqlScopes = ReturnType<typeof createGraphqlScopes>;
