import * as oauth from "oauth4webapi";
import { z } from "zod";
import type { OAuthProviderConfig } from "../config/env/oauth.ts";
import { type FlowChecks, isTrustedDomain, type OAuthProvider, type ProviderCallback, type ProviderIdentity, providerFailure, providerFetch } from "./provider.ts";

type GithubConfig = Extract<OAuthProviderConfig, { kind: "github" }>;

const GithubUser = z.object({ id: z.number().int().positive() });
const GithubEmails = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/**
 * GitHub, a plain OAuth 2.0 provider (no ID token), through oauth4webapi: the code flow with PKCE (S256) and
 * state, then the user's numeric id (the subject: a login name can be renamed and reused) and the primary
 * address, which counts only if GitHub says it is verified.
 */
export function createGithubProvider(config: GithubConfig, timeoutMs: number): OAuthProvider {
  const { endpoints } = config;
  const server: oauth.AuthorizationServer = {
    issuer: new URL(endpoints.authorizationUrl).origin,
    authorization_endpoint: endpoints.authorizationUrl,
    token_endpoint: endpoints.tokenUrl,
  };
  const client: oauth.Client = { client_id: config.clientId };
  const clientAuth = oauth.ClientSecretPost(config.clientSecret ?? "");
  const options = { [oauth.customFetch]: providerFetch(timeoutMs), [oauth.allowInsecureRequests]: config.allowInsecure };

  async function getJson(url: string, accessToken: string): Promise<unknown> {
    const headers = new Headers({ accept: "application/vnd.github+json" });
    const response = await oauth.protectedResourceRequest(accessToken, "GET", new URL(url), headers, null, options);
    if (!response.ok) throw new Error(`GitHub answered ${response.status} for ${url}`);
    return response.json();
  }

  return {
    id: config.id,
    name: config.name,
    status: () => "ok",
    prepare: async () => {},

    async authorizationUrl(checks: FlowChecks): Promise<URL> {
      const url = new URL(endpoints.authorizationUrl);
      url.search = new URLSearchParams({
        client_id: config.clientId,
        redirect_uri: checks.redirectUri,
        scope: config.scopes,
        state: checks.state,
        code_challenge: await oauth.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: "S256",
        allow_signup: "true",
      }).toString();
      return url;
    },

    async complete(callback: ProviderCallback, checks: FlowChecks): Promise<ProviderIdentity> {
      try {
        const params = oauth.validateAuthResponse(server, client, callback.form ?? callback.url.searchParams, checks.state);
        const response = await oauth.authorizationCodeGrantRequest(server, client, clientAuth, params, checks.redirectUri, checks.codeVerifier, options);
        const tokens = await oauth.processAuthorizationCodeResponse(server, client, response);
        const user = GithubUser.parse(await getJson(endpoints.userUrl, tokens.access_token));
        const primary = GithubEmails.parse(await getJson(endpoints.emailsUrl, tokens.access_token)).find((entry) => entry.primary);
        const email = primary?.email.trim().toLowerCase() ?? null;
        const emailVerified = email !== null && primary?.verified === true && isTrustedDomain(email, config.emailDomains);
        return { subject: String(user.id), email, emailVerified };
      } catch (error) {
        throw providerFailure(error);
      }
    },
  };
}
