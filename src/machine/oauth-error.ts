/** RFC 6749 section 5.2's error codes, and RFC 7009's for revocation. */
export type OAuthErrorCode = "invalid_request" | "invalid_client" | "invalid_grant" | "invalid_scope" | "unauthorized_client" | "unsupported_grant_type" | "unsupported_token_type";

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
