import { AppError } from "../errors.ts";

/** Who the provider says signed in: the subject is the key; the address is only a hint unless verified. */
export type ProviderIdentity = {
  /** Stable and unique at the provider (Microsoft: "<tenant id>:<object id>"). */
  subject: string;
  /** Lower-cased; null when the provider shared none. */
  email: string | null;
  /** The provider vouches for the address, and is trusted to for its domain (OAUTH_<NAME>_EMAIL_DOMAINS). */
  emailVerified: boolean;
};

/** What the authorization request carries, kept in the sealed flow state until the callback checks it. */
export type FlowChecks = { redirectUri: string; state: string; nonce: string; codeVerifier: string };

/** The provider's return: the callback URL (GET, query) or, for response_mode=form_post, the posted form. */
export type ProviderCallback = { url: URL; form: URLSearchParams | null };

/** One configured provider, OpenID Connect (oidc-provider.ts) or plain OAuth 2.0 (github-provider.ts). */
export type OAuthProvider = {
  id: string;
  name: string;
  /** The provider's authorization URL for this flow (PKCE S256, state, and for OIDC a nonce). */
  authorizationUrl(checks: FlowChecks): Promise<URL>;
  /** Exchanges the code and checks the answer (state, PKCE, and for OIDC the ID token and nonce). */
  complete(callback: ProviderCallback, checks: FlowChecks): Promise<ProviderIdentity>;
  /** ok: metadata loaded (or none to load); unavailable: the last discovery failed; pending: none has ended yet. */
  status(): "ok" | "unavailable" | "pending";
  /** Loads the metadata now (discovery); OAUTH_PROVIDER_UNAVAILABLE when the provider does not answer. */
  prepare(): Promise<void>;
};

/**
 * A provider library's failure as an AppError: the user's or provider's refusal (OAUTH_ACCESS_DENIED), a provider
 * that is down or slow (OAUTH_PROVIDER_UNAVAILABLE), or an answer that fails a check (OAUTH_FLOW_INVALID).
 */
export function providerFailure(error: unknown): AppError {
  // The libraries wrap what providerFetch threw (an outage) in errors of their own.
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    if (current instanceof AppError) return current;
  }
  if (error instanceof Error && error.name === "AuthorizationResponseError") return new AppError("OAUTH_ACCESS_DENIED", { cause: error });
  return new AppError("OAUTH_FLOW_INVALID", { cause: error });
}

/** What the provider libraries pass to their fetch (openid-client's and oauth4webapi's customFetch). */
type ProviderRequest = { method?: string; headers?: HeadersInit; body?: unknown; signal?: AbortSignal | null };

/** The outage answer: the provider failed or was slow. */
export const providerUnavailable = (cause: unknown) => new AppError("OAUTH_PROVIDER_UNAVAILABLE", { retryAfterSeconds: 30, cause });

/**
 * fetch for every request to a provider: bounded by OAUTH_HTTP_TIMEOUT_MS, and a connection failure, a timeout or
 * a 5xx becomes OAUTH_PROVIDER_UNAVAILABLE (the client may retry) rather than a failed check.
 */
export function providerFetch(timeoutMs: number, fetchImpl: typeof fetch = fetch) {
  return async (url: string, init: ProviderRequest = {}): Promise<Response> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetchImpl(url, { ...init, body: init.body as BodyInit | undefined, signal, redirect: "manual" });
    } catch (cause) {
      throw providerUnavailable(cause);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw providerUnavailable(new Error(`provider answered ${response.status}`));
    }
    return response;
  };
}

/** Whether `email`'s domain is one the provider may vouch for. */
export function isTrustedDomain(email: string, domains: "*" | string[]): boolean {
  if (domains === "*") return true;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return domains.includes(domain);
}
