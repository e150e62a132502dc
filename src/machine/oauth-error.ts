/**
 * The RFC 6749 section 5.2 error codes these endpoints answer. The client credentials grant presents no grant that
 * could be invalid (invalid_grant), lets every client use it (unauthorized_client), and revocation accepts any token
 * type (RFC 7009's unsupported_token_type), so those are not here.
 */
export const OAUTH_ERROR_CODES = ["invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"] as const;
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

/**
 * A refusal by an OAuth 2.0 endpoint (/oauth2/*). OAuth clients expect RFC 6749's `{error, error_description}`, not
 * problem+json, so these are not AppErrors: src/http/routes/oauth2.ts renders them. invalid_client is 401 (with
 * `WWW-Authenticate: Basic`), everything else 400.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: 400 | 401;

  constructor(error: OAuthErrorCode, description: string) {
    super(description);
    this.name = "OAuthError";
    this.error = error;
    this.status = error === "invalid_client" ? 401 : 400;
  }
}
