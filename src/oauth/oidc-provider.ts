import * as client from "openid-client";
import type { OAuthProviderConfig } from "../config/env/oauth.ts";
import type { Logger } from "../observability/logger.ts";
import { createAppleClientSecret } from "./apple-client-secret.ts";
import {
  type FlowChecks,
  isTrustedDomain,
  type OAuthProvider,
  type ProviderCallback,
  type ProviderIdentity,
  providerFailure,
  providerFetch,
  providerUnavailable,
} from "./provider.ts";

type OidcConfig = Extract<OAuthProviderConfig, { kind: "oidc" }>;

const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An OpenID Connect provider through openid-client (a certified relying party): discovery from the issuer, then
 * the code flow with PKCE (S256), state and nonce, and the ID token checked (issuer, audience, expiry, nonce).
 * Discovery runs lazily and again after a failure, so a provider that was down at start recovers on its own.
 */
export function createOidcProvider(config: OidcConfig, timeoutMs: number, logger: Logger, fetchImpl: typeof fetch = fetch): OAuthProvider {
  const fetchFromProvider = providerFetch(timeoutMs, fetchImpl);
  // Only a loopback issuer outside production is http (refused otherwise by the configuration): a local provider.
  const execute = config.allowInsecure ? [client.allowInsecureRequests] : [];
  const appleSecret = config.apple === null ? null : createAppleClientSecret(config.apple, config.clientId);
  let discovered: client.Configuration | null = null;
  let discovering: Promise<client.Configuration> | null = null;
  let lastDiscoveryFailed: boolean | null = null;

  /**
   * The discovered configuration, kept as openid-client made it: for Microsoft's multi-tenant issuers it carries
   * the tenant-aware issuer check (the ID token's iss must be the template with the token's own tid).
   */
  async function discover(): Promise<client.Configuration> {
    if (discovered !== null) return discovered;
    discovering ??= client
      .discovery(new URL(config.issuer), config.clientId, undefined, client.ClientSecretPost(config.clientSecret ?? undefined), {
        execute,
        [client.customFetch]: fetchFromProvider,
      })
      .then((configuration) => (discovered = configuration))
      .finally(() => (discovering = null));
    try {
      const loaded = await discovering;
      lastDiscoveryFailed = false;
      return loaded;
    } catch (error) {
      lastDiscoveryFailed = true;
      logger.warn({ err: error, provider: config.id }, "OpenID Connect discovery failed; retried on the next sign-in");
      throw providerUnavailable(error);
    }
  }

  /** Apple's client secret is a short-lived JWT: a configuration with a current one for each flow. */
  async function configuration(): Promise<client.Configuration> {
    const configured = await discover();
    if (appleSecret === null) return configured;
    const withSecret = new client.Configuration(configured.serverMetadata(), config.clientId, undefined, client.ClientSecretPost(await appleSecret()));
    withSecret[client.customFetch] = fetchFromProvider;
    for (const enable of execute) enable(withSecret);
    return withSecret;
  }

  function identityOf(claims: client.IDToken): ProviderIdentity {
    const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : null;
    // Apple sends email_verified as the string "true".
    const vouched = claims.email_verified === true || claims.email_verified === "true";
    return { subject: subjectOf(claims), email, emailVerified: email !== null && vouched && isTrustedDomain(email, config.emailDomains) };
  }

  /**
   * Microsoft: the object id is unique only within its tenant, so the key is both. A single-tenant app accepts its
   * own tenant only; a multi-tenant one (common, organizations, consumers) any, its issuer checked per tenant.
   */
  function subjectOf(claims: client.IDToken): string {
    const tenant = config.microsoftTenant;
    if (tenant === null) return claims.sub;
    const { tid, oid } = claims;
    if (typeof tid !== "string" || !TENANT_ID.test(tid) || typeof oid !== "string" || oid === "") throw new Error("the ID token has no tenant or object id");
    if (TENANT_ID.test(tenant) && tid.toLowerCase() !== tenant) throw new Error("the ID token names another Microsoft tenant");
    return `${tid.toLowerCase()}:${oid}`;
  }

  return {
    id: config.id,
    name: config.name,
    status: () => (discovered !== null ? "ok" : lastDiscoveryFailed === null ? "pending" : "unavailable"),
    prepare: async () => void (await discover()),

    async authorizationUrl(checks: FlowChecks): Promise<URL> {
      return client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: checks.redirectUri,
        scope: config.scopes,
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: "S256",
        ...(config.responseMode === "form_post" ? { response_mode: "form_post" } : {}),
      });
    },

    async complete(callback: ProviderCallback, checks: FlowChecks): Promise<ProviderIdentity> {
      const configured = await configuration();
      // The callback as the provider addressed it (APP_URL's), not as a proxy in front may have rewritten it.
      const current =
        callback.form === null
          ? new URL(`${checks.redirectUri}${callback.url.search}`)
          : new Request(checks.redirectUri, { method: "POST", body: callback.form, headers: { "content-type": "application/x-www-form-urlencoded" } });
      try {
        const tokens = await client.authorizationCodeGrant(configured, current, {
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          pkceCodeVerifier: checks.codeVerifier,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (claims === undefined) throw new Error("no ID token");
        return identityOf(claims);
      } catch (error) {
        throw providerFailure(error);
      }
    },
  };
}
