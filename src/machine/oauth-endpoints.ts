import type { Attempt } from "../flows/sign-in-flow.ts";
import type { ClientCredentialsGrant, TokenResponse } from "./client-credentials-grant.ts";
import type { OAuthClientRow, OAuthClients } from "./oauth-clients.ts";
import { OAuthError } from "./oauth-error.ts";
import type { Introspection, TokenIntrospection } from "./token-introspection.ts";
import type { TokenRevocation } from "./token-revocation.ts";

/** Client credentials as a request presented them (RFC 6749 section 2.3.1: HTTP Basic, or the form's fields). */
export type PresentedClient = { clientId: string; clientSecret: string };

export const SUPPORTED_GRANT_TYPES = ["client_credentials"] as const;

/**
 * The OAuth 2.0 endpoints' rules over the machine services: which requests need an authenticated client, and the
 * per-client rate limit (RATE_LIMIT_OAUTH_CLIENT) once the client is known. The per-IP limit is the HTTP layer's,
 * counted before any of this.
 */
export function createOAuthEndpoints(deps: { clients: Pick<OAuthClients, "authenticate">; grant: ClientCredentialsGrant; introspect: TokenIntrospection; revoke: TokenRevocation }) {
  async function authenticated(presented: PresentedClient | null, attempt: Attempt): Promise<OAuthClientRow> {
    const client = presented === null ? null : await deps.clients.authenticate(presented.clientId, presented.clientSecret);
    if (client === null) throw new OAuthError("invalid_client", "Client authentication failed");
    await attempt.limits.consume("oauthClient", client.id);
    return client;
  }

  return {
    /** POST /oauth2/token: RFC 6749 section 4.4 (client credentials). */
    async token(presented: PresentedClient | null, grantType: string, scope: string | undefined, attempt: Attempt): Promise<TokenResponse> {
      const client = await authenticated(presented, attempt);
      if (grantType !== "client_credentials") throw new OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported");
      return deps.grant(client, scope);
    },

    /** POST /oauth2/introspect: RFC 7662, for authenticated clients only (resource servers). */
    async introspect(presented: PresentedClient | null, token: string, attempt: Attempt): Promise<Introspection> {
      await authenticated(presented, attempt);
      return deps.introspect(token, attempt.audit);
    },

    /**
     * POST /oauth2/revoke: RFC 7009. Credentials are optional (a public client revokes what it holds), but if any
     * are presented they must be right.
     */
    async revoke(presented: PresentedClient | null, token: string, attempt: Attempt): Promise<void> {
      if (presented !== null) await authenticated(presented, attempt);
      await deps.revoke(token, attempt.audit);
    },
  };
}

export type OAuthEndpoints = ReturnType<typeof createOAuthEndpoints>;
