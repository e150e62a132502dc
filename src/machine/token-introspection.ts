import { decodeJwt } from "jose";
import { AppError } from "../errors.ts";
import type { AuditContext } from "../observability/audit.ts";
import { acrOf } from "../sessions/assurance.ts";
import type { SessionValidator } from "../sessions/session-validator.ts";
import type { AccessTokens } from "../tokens/access-token.ts";
import type { ApiKeyValidator } from "./api-key-validator.ts";
import type { MachineTokens } from "./machine-tokens.ts";
import type { OAuthClients } from "./oauth-clients.ts";
import { looksLikeApiKey } from "./secret-format.ts";

/** RFC 7662 section 2.2's answer; only `active` when the token is not. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: "Bearer" | "api_key";
      sub: string;
      client_id?: string;
      scope?: string;
      exp: number;
      iat: number;
      amr?: string[];
      acr?: string;
      roles?: string[];
    };

const INACTIVE: Introspection = { active: false };
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * RFC 7662 token introspection for a resource server (an authenticated machine client): our users' access tokens,
 * personal API keys and machine tokens. A token is active only if it would be accepted right now: a user's token
 * whose session is live and whose user is not banned (the same cached check the user routes make), a live key of
 * an owner in good standing, a machine token of a client that still exists, is enabled and still holds at least one
 * of the token's scopes (only those still held are reported). Anything else,
 * malformed input included, is `{active: false}` with nothing to tell the kinds of failure apart.
 */
export function createTokenIntrospection(deps: {
  accessTokens: Pick<AccessTokens, "verify">;
  sessionValidator: Pick<SessionValidator, "bySessionId">;
  apiKeyValidator: Pick<ApiKeyValidator, "validate">;
  machineTokens: Pick<MachineTokens, "verify">;
  clients: Pick<OAuthClients, "find">;
}) {
  async function userToken(token: string): Promise<Introspection | null> {
    const claims = await deps.accessTokens.verify(token);
    if (claims === null) return null;
    const found = await deps.sessionValidator.bySessionId(claims.sessionId);
    if (found === null || found.user.id !== claims.userId) return INACTIVE;
    const { iat, exp } = decodeJwt(token);
    if (iat === undefined || exp === undefined) return INACTIVE;
    // Assurance and roles as they are now, not as the token was signed: a demotion or step-up shows at once.
    const { session, user } = found;
    return { active: true, token_type: "Bearer", sub: user.id, exp, iat, amr: session.amr, acr: acrOf(session.aal), roles: user.roles };
  }

  async function machineToken(token: string): Promise<Introspection> {
    const claims = await deps.machineTokens.verify(token);
    if (claims === null) return INACTIVE;
    const client = await deps.clients.find(claims.clientId);
    if (client === null || client.disabledAt !== null) return INACTIVE;
    // Scopes as the client holds them now, as roles are for a user's token: one an administrator has since taken
    // away is not reported, and a token left with none of those it was signed with is not active.
    const held = new Set(client.scopes);
    const scopes = claims.scopes.filter((scope) => held.has(scope));
    if (scopes.length === 0 && claims.scopes.length > 0) return INACTIVE;
    return { active: true, token_type: "Bearer", sub: claims.clientId, client_id: claims.clientId, scope: scopes.join(" "), exp: claims.expiresAt, iat: claims.issuedAt };
  }

  async function apiKey(token: string, context: AuditContext): Promise<Introspection> {
    const found = await deps.apiKeyValidator.validate(token, () => context);
    if (found === null) return INACTIVE;
    const { session, user, apiKey } = found;
    return {
      active: true,
      token_type: "api_key",
      sub: user.id,
      scope: apiKey.scopes.join(" "),
      exp: seconds(session.expiresAt),
      iat: seconds(session.createdAt),
      amr: session.amr,
      acr: acrOf(session.aal),
      roles: user.roles,
    };
  }

  return async function introspect(token: string, context: AuditContext): Promise<Introspection> {
    try {
      if (looksLikeApiKey(token)) return await apiKey(token, context);
      return (await userToken(token)) ?? (await machineToken(token));
    } catch (error) {
      // A banned owner's session or key: not active, and no more said about why.
      if (error instanceof AppError && error.code === "ACCOUNT_BANNED") return INACTIVE;
      throw error;
    }
  };
}

export type TokenIntrospection = ReturnType<typeof createTokenIntrospection>;
