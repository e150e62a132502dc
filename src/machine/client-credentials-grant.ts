import type { MachineTokens } from "./machine-tokens.ts";
import type { OAuthClientRow } from "./oauth-clients.ts";
import { OAuthError } from "./oauth-error.ts";
import { parseScopeParameter } from "./scopes.ts";

export type TokenResponse = { access_token: string; token_type: "Bearer"; expires_in: number; scope: string };

/**
 * RFC 6749 section 4.4: an authenticated client gets an access token for the scopes it asks for, which must be
 * among its own (invalid_scope otherwise); asking for none grants all of them (section 3.3 lets the server pick a
 * default, and the client's registered scopes are the natural one).
 */
export function createClientCredentialsGrant(deps: { tokens: MachineTokens; defaultTtlSeconds: number }) {
  return async function grant(client: OAuthClientRow, scope: string | undefined): Promise<TokenResponse> {
    let scopes = client.scopes;
    if (scope !== undefined) {
      const requested = parseScopeParameter(scope);
      if (requested === null) throw new OAuthError("invalid_scope", "The scope parameter is malformed");
      if (requested.some((name) => !client.scopes.includes(name))) throw new OAuthError("invalid_scope", "A requested scope is not granted to this client");
      scopes = requested;
    }
    const ttl = client.accessTokenTtl ?? deps.defaultTtlSeconds;
    return { access_token: await deps.tokens.sign(client.id, scopes, ttl), token_type: "Bearer", expires_in: ttl, scope: scopes.join(" ") };
  };
}

export type ClientCredentialsGrant = ReturnType<typeof createClientCredentialsGrant>;
