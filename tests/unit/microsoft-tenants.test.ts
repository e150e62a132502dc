import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { parseOAuthProviders } from "../../src/config/env/oauth.ts";
import { AppError } from "../../src/errors.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createOidcProvider } from "../../src/oauth/oidc-provider.ts";

/**
 * Microsoft's issuers, offline: a fake of login.microsoftonline.com (discovery, token, keys) behind the provider's
 * fetch. A multi-tenant app's discovery names a template issuer; each ID token must carry the issuer of its own tid.
 */
const BASE = "https://login.microsoftonline.com";
const TENANT_A = "0b5e4c2a-9d7f-4e1b-8a3c-6f2d1e0c9b8a";
const TENANT_B = "11111111-2222-3333-4444-555555555555";
const CHECKS = { redirectUri: "https://auth.example.com/auth/oauth/providers/microsoft/callback", state: "state-1", nonce: "nonce-1", codeVerifier: "v".repeat(43) };

let sign: (claims: Record<string, unknown>) => Promise<string>;
let keys: unknown;
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  keys = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
  sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuedAt().setExpirationTime("5m").sign(privateKey);
});

function providerFor(tenant: string, idToken: () => Promise<string>) {
  const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  const fakeFetch = async (url: string | URL | Request) => {
    const target = String(url);
    if (target === `${BASE}/${tenant}/v2.0/.well-known/openid-configuration`) {
      return json({
        // Microsoft's multi-tenant documents name a template; a tenant's own names the tenant.
        issuer: `${BASE}/${/^[0-9a-f-]{36}$/.test(tenant) ? tenant : "{tenantid}"}/v2.0`,
        authorization_endpoint: `${BASE}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${BASE}/${tenant}/oauth2/v2.0/token`,
        jwks_uri: `${BASE}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ["code"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (target.endsWith("/token")) return json({ access_token: "at", token_type: "Bearer", expires_in: 3600, id_token: await idToken() });
    if (target.endsWith("/keys")) return json(keys);
    return new Response("", { status: 404 });
  };
  const { providers, problems } = parseOAuthProviders(
    ["microsoft"],
    { OAUTH_MICROSOFT_CLIENT_ID: "ms-client", OAUTH_MICROSOFT_CLIENT_SECRET: "ms-secret", OAUTH_MICROSOFT_TENANT: tenant },
    true,
  );
  expect(problems).toEqual([]);
  return createOidcProvider(providers[0] as Parameters<typeof createOidcProvider>[0], 2_000, createLogger({ level: "silent" }), fakeFetch as typeof fetch);
}

const tokenFrom = (tid: string, issuerTenant = tid) => () =>
  sign({ iss: `${BASE}/${issuerTenant}/v2.0`, aud: "ms-client", sub: "pairwise", tid, oid: "object-1", nonce: CHECKS.nonce });
const callback = { url: new URL(`${CHECKS.redirectUri}?code=c&state=${CHECKS.state}`), form: null };
const failureOf = (promise: Promise<unknown>) => promise.then(() => "signed in", (error: unknown) => (error instanceof AppError ? error.code : String(error)));

describe("Microsoft tenants", () => {
  it("a multi-tenant app accepts any tenant whose token names its own issuer, keyed on tid:oid", async () => {
    for (const tid of [TENANT_A, TENANT_B]) {
      expect(await providerFor("common", tokenFrom(tid)).complete(callback, CHECKS)).toEqual({ subject: `${tid}:object-1`, email: null, emailVerified: false });
    }
  });

  it("a multi-tenant app refuses a token whose issuer names another tenant than its tid", async () => {
    expect(await failureOf(providerFor("organizations", tokenFrom(TENANT_A, TENANT_B)).complete(callback, CHECKS))).toBe("OAUTH_FLOW_INVALID");
  });

  it("a single-tenant app refuses another tenant's token", async () => {
    expect(await providerFor(TENANT_A, tokenFrom(TENANT_A)).complete(callback, CHECKS)).toMatchObject({ subject: `${TENANT_A}:object-1` });
    expect(await failureOf(providerFor(TENANT_A, tokenFrom(TENANT_B)).complete(callback, CHECKS))).toBe("OAUTH_FLOW_INVALID");
  });
});
