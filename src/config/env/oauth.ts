import { isIP } from "node:net";
import { z } from "zod";
import { flag } from "./fields.ts";

/** Known provider names and what they preset; any other name is a generic OpenID Connect provider (needs _ISSUER). */
const PRESETS = {
  google: { kind: "oidc", name: "Google", issuer: "https://accounts.google.com", scopes: "openid email profile", emailDomains: "*" },
  // Entra's email claim is mutable and unverified (the "nOAuth" takeover): it never counts as verified.
  microsoft: { kind: "oidc", name: "Microsoft", issuer: null, scopes: "openid email profile", emailDomains: "" },
  apple: { kind: "oidc", name: "Apple", issuer: "https://appleid.apple.com", scopes: "openid email name", emailDomains: "*" },
  github: { kind: "github", name: "GitHub", issuer: null, scopes: "read:user user:email", emailDomains: "*" },
} as const;

const GITHUB_ENDPOINTS = {
  authorizationUrl: "https://github.com/login/oauth/authorize",
  tokenUrl: "https://github.com/login/oauth/access_token",
  userUrl: "https://api.github.com/user",
  emailsUrl: "https://api.github.com/user/emails",
};

export type GithubEndpoints = typeof GITHUB_ENDPOINTS;

export type OAuthProviderConfig = {
  /** The name in OAUTH_PROVIDERS: the path segment and the accounts.provider_id of its identities. */
  id: string;
  name: string;
  clientId: string;
  clientSecret: string | null;
  scopes: string;
  /** Domains whose addresses the provider may vouch for ("*": any); an address elsewhere never counts as verified. */
  emailDomains: "*" | string[];
  /** http on a loopback issuer outside production (a local test provider); everything else must be https. */
  allowInsecure: boolean;
  /** form_post: the provider posts its answer to the callback (Apple does, when asking for the name or email). */
  responseMode: "query" | "form_post";
} & (
  | { kind: "oidc"; issuer: string; microsoftTenant: string | null; apple: AppleKey | null }
  | { kind: "github"; endpoints: GithubEndpoints }
);

/** Apple's client secret is a JWT signed with this key (ES256), made by the server: src/oauth/apple-client-secret.ts. */
export type AppleKey = { teamId: string; keyId: string; privateKey: string };

export type OAuthConfig = {
  providers: OAuthProviderConfig[];
  /** OAUTH_REDIRECT_ALLOWLIST, parsed: where a flow may return to. */
  redirectAllowlist: string[];
  autoLinkVerified: boolean;
  httpTimeoutMs: number;
  /** How long a started flow may take at the provider. */
  flowTtlSeconds: number;
  /** The one-time code an app exchanges for tokens. */
  exchangeCodeTtlSeconds: number;
};

const NAME = /^[a-z][a-z0-9]{1,31}$/;
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Microsoft's multi-tenant endpoints: their issuer is a template, checked per token against its tid. */
const MULTI_TENANT = new Set(["common", "organizations", "consumers"]);

/** The fixed variables; the per-provider ones are PROVIDER_VARIABLES. */
export const oauthSchema = z.object({
  OAUTH_PROVIDERS: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const names = value.split(",").map((part) => part.trim().toLowerCase()).filter(Boolean);
      for (const name of names) {
        // "credential" is Better-Auth's provider id of passwords.
        if (!NAME.test(name) || name === "credential") ctx.addIssue({ code: "custom", message: `"${name}" is not a provider name (a-z, 0-9; 2 to 32)` });
      }
      if (new Set(names).size !== names.length) ctx.addIssue({ code: "custom", message: "names a provider twice" });
      return names;
    })
    .describe(
      "Comma-separated social-login providers to enable: google, microsoft, apple, github (presets), or any other name for a generic OpenID Connect provider (its OAUTH_<NAME>_ISSUER is required). Each needs its OAUTH_<NAME>_* variables; see docs/social-login.md.",
    ),
  OAUTH_REDIRECT_ALLOWLIST: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const entries = value.split(",").map((part) => part.trim()).filter(Boolean);
      for (const entry of entries) {
        const problem = allowlistEntryProblem(entry);
        if (problem !== null) ctx.addIssue({ code: "custom", message: `"${entry}" ${problem}` });
      }
      return entries;
    })
    .describe(
      "Comma-separated URLs a social login may return to (redirectTo): scheme, host and port must match exactly, and the path must be under the entry's path (https://app.example.com, https://app.example.com/auth/, com.example.app:/oauth). In production http:// only on a loopback address (a native app's listener). Empty: social login is refused.",
    ),
  OAUTH_AUTO_LINK_VERIFIED: flag(false).describe(
      "true: a first social login whose provider-verified address belongs to a verified account is linked to it. false (the default): it answers 409 ACCOUNT_EXISTS_LINK_REQUIRED and the owner signs in and links the provider (mode=link), so a provider that vouches wrongly cannot take an account over.",
    ),
  OAUTH_HTTP_TIMEOUT_MS: z
    .coerce.number()
    .int()
    .min(100)
    .max(60_000)
    .default(5_000)
    .describe("Milliseconds to wait for a provider (discovery, token and user endpoints); past it the flow answers OAUTH_PROVIDER_UNAVAILABLE."),
});

const optionalText = z.string().trim().min(1).optional();

/** The per-provider variables, documented under their pattern names; <NAME> is the provider's name in capitals. */
export const PROVIDER_VARIABLES = {
  "OAUTH_<NAME>_CLIENT_ID": optionalText.describe("The client id registered at the provider (required for each provider)."),
  "OAUTH_<NAME>_CLIENT_SECRET": optionalText.describe("The client secret (required except for apple, whose secret is made from the key below)."),
  "OAUTH_<NAME>_ISSUER": optionalText.describe(
    "OpenID Connect issuer URL; its /.well-known/openid-configuration is read. Preset for google and apple; microsoft builds it from OAUTH_MICROSOFT_TENANT; required for any other OIDC provider. https only (http only for a loopback address outside production).",
  ),
  "OAUTH_<NAME>_SCOPES": optionalText.describe("Space-separated scopes. Default: openid email profile (apple: openid email name; github: read:user user:email)."),
  "OAUTH_<NAME>_RESPONSE_MODE": z
    .enum(["query", "form_post"])
    .optional()
    .describe("How the provider returns to the callback: query (a redirect) or form_post (a form the browser posts). Default query, apple form_post."),
  "OAUTH_<NAME>_EMAIL_DOMAINS": optionalText.describe(
    'Comma-separated domains whose addresses the provider is trusted to verify ("*": any). Default "*", microsoft none (its email claim is not verified). An address outside them never counts as verified.',
  ),
  OAUTH_MICROSOFT_TENANT: optionalText.describe(
    "Microsoft: the directory (tenant) id, a GUID, whose users may sign in (ID tokens must name it as issuer and tid), or common, organizations or consumers for a multi-tenant app (each ID token's issuer must be the one of its own tid). Identities are keyed on tenant id + object id. Required for microsoft.",
  ),
  OAUTH_APPLE_TEAM_ID: optionalText.describe("Apple: the developer team id (the client secret JWT's issuer)."),
  OAUTH_APPLE_KEY_ID: optionalText.describe("Apple: the id of the Sign in with Apple key."),
  OAUTH_APPLE_PRIVATE_KEY: optionalText.describe("Apple: that key's PKCS#8 PEM (newlines may be written as \\n)."),
  OAUTH_GITHUB_AUTHORIZATION_URL: optionalText.describe(`GitHub (plain OAuth 2.0): authorization endpoint; default ${GITHUB_ENDPOINTS.authorizationUrl} (change for GitHub Enterprise).`),
  OAUTH_GITHUB_TOKEN_URL: optionalText.describe(`GitHub: token endpoint; default ${GITHUB_ENDPOINTS.tokenUrl}.`),
  OAUTH_GITHUB_USER_URL: optionalText.describe(`GitHub: user endpoint; default ${GITHUB_ENDPOINTS.userUrl}.`),
  OAUTH_GITHUB_EMAILS_URL: optionalText.describe(`GitHub: emails endpoint (the verified primary address); default ${GITHUB_ENDPOINTS.emailsUrl}.`),
} as const;

/** An allowlist entry: an absolute URL without user info, query or fragment; null when fine. */
function allowlistEntryProblem(entry: string): string | null {
  if (!URL.canParse(entry) || entry.includes("\\")) return "is not an absolute URL";
  const url = new URL(entry);
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") return "must have no user info, query or fragment";
  if ((url.protocol === "http:" || url.protocol === "https:") && url.host === "") return "has no host";
  return null;
}

export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}

type Present = Record<string, string | undefined>;

/**
 * Each provider of OAUTH_PROVIDERS from its OAUTH_<NAME>_* variables, with every problem named. `production`:
 * http endpoints are refused even on loopback.
 */
export function parseOAuthProviders(names: string[], present: Present, production: boolean): { providers: OAuthProviderConfig[]; problems: string[] } {
  const problems: string[] = production ? plainHttpRedirects(present.OAUTH_REDIRECT_ALLOWLIST) : [];
  const providers: OAuthProviderConfig[] = [];
  for (const id of names) {
    const prefix = `OAUTH_${id.toUpperCase()}_`;
    const read = (suffix: string) => present[prefix + suffix]?.trim() || undefined;
    const preset = PRESETS[id as keyof typeof PRESETS];
    const clientId = read("CLIENT_ID");
    if (clientId === undefined) problems.push(`${prefix}CLIENT_ID: must be set for provider ${id}`);
    const apple = id === "apple" ? readAppleKey(read, prefix, problems) : null;
    const clientSecret = read("CLIENT_SECRET") ?? null;
    if (clientSecret === null && apple === null) problems.push(`${prefix}CLIENT_SECRET: must be set for provider ${id}`);
    const endpointProblem = (variable: string, value: string) => {
      const problem = endpointUrlProblem(value, production);
      if (problem !== null) problems.push(`${variable}: ${problem}`);
      return problem === null;
    };
    const domains = read("EMAIL_DOMAINS") ?? preset?.emailDomains ?? "*";
    const responseMode = read("RESPONSE_MODE") ?? (id === "apple" ? "form_post" : "query");
    if (responseMode !== "query" && responseMode !== "form_post") problems.push(`${prefix}RESPONSE_MODE: must be query or form_post`);
    const common = {
      id,
      name: preset?.name ?? id.charAt(0).toUpperCase() + id.slice(1),
      clientId: clientId ?? "",
      clientSecret,
      scopes: read("SCOPES") ?? preset?.scopes ?? "openid email profile",
      emailDomains: domains === "*" ? ("*" as const) : domains.split(",").map((part) => part.trim().toLowerCase()).filter(Boolean),
      responseMode: responseMode === "form_post" ? ("form_post" as const) : ("query" as const),
    };
    if (preset?.kind === "github") {
      const endpoints = {
        authorizationUrl: read("AUTHORIZATION_URL") ?? GITHUB_ENDPOINTS.authorizationUrl,
        tokenUrl: read("TOKEN_URL") ?? GITHUB_ENDPOINTS.tokenUrl,
        userUrl: read("USER_URL") ?? GITHUB_ENDPOINTS.userUrl,
        emailsUrl: read("EMAILS_URL") ?? GITHUB_ENDPOINTS.emailsUrl,
      };
      const names = { authorizationUrl: "AUTHORIZATION_URL", tokenUrl: "TOKEN_URL", userUrl: "USER_URL", emailsUrl: "EMAILS_URL" } as const;
      const valid = Object.entries(endpoints).every(([key, value]) => endpointProblem(prefix + names[key as keyof typeof names], value));
      if (valid) providers.push({ ...common, kind: "github", endpoints, allowInsecure: Object.values(endpoints).some((url) => url.startsWith("http:")) });
      continue;
    }
    const tenant = id === "microsoft" ? (read("TENANT") ?? null) : null;
    if (id === "microsoft" && (tenant === null || !(TENANT_ID.test(tenant) || MULTI_TENANT.has(tenant.toLowerCase())))) {
      problems.push(`${prefix}TENANT: must be the directory (tenant) id of provider microsoft, a GUID, or common, organizations or consumers`);
      continue;
    }
    const issuer = read("ISSUER") ?? (tenant !== null ? `https://login.microsoftonline.com/${tenant.toLowerCase()}/v2.0` : (preset?.issuer ?? undefined));
    if (issuer === undefined) {
      problems.push(`${prefix}ISSUER: must be set for the OpenID Connect provider ${id}`);
      continue;
    }
    if (!endpointProblem(`${prefix}ISSUER`, issuer)) continue;
    // Without it there is no ID token, the one thing an OpenID Connect sign-in trusts.
    if (!common.scopes.split(/\s+/).includes("openid")) problems.push(`${prefix}SCOPES: must include openid for the OpenID Connect provider ${id}`);
    providers.push({ ...common, kind: "oidc", issuer, microsoftTenant: tenant?.toLowerCase() ?? null, apple, allowInsecure: issuer.startsWith("http:") });
  }
  return { providers, problems };
}

/**
 * In production a flow returns over https, or to an app: its own scheme, or plain http on loopback (a native app's
 * local listener, RFC 8252 section 7.3). Over plain http to a network host, an app's exchange code could be read.
 */
function plainHttpRedirects(allowlist: string | undefined): string[] {
  const entries = (allowlist ?? "").split(",").map((part) => part.trim()).filter((entry) => URL.canParse(entry));
  return entries
    .filter((entry) => new URL(entry).protocol === "http:" && !isLoopbackHost(new URL(entry).hostname))
    .map((entry) => `OAUTH_REDIRECT_ALLOWLIST: "${entry}" must be https:// in production (http only on a loopback address)`);
}

/** https, or http to a loopback address outside production (a provider on this machine, as in tests). */
function endpointUrlProblem(value: string, production: boolean): string | null {
  if (!URL.canParse(value)) return "must be an https:// URL";
  const url = new URL(value);
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && !production && isLoopbackHost(url.hostname)) return null;
  return "must be an https:// URL (http is accepted only for a loopback address outside production)";
}

function readAppleKey(read: (suffix: string) => string | undefined, prefix: string, problems: string[]): AppleKey | null {
  const teamId = read("TEAM_ID");
  const keyId = read("KEY_ID");
  const privateKey = read("PRIVATE_KEY")?.replace(/\\n/g, "\n");
  if (teamId === undefined && keyId === undefined && privateKey === undefined) return null;
  if (teamId === undefined || keyId === undefined || privateKey === undefined) {
    problems.push(`${prefix}TEAM_ID, ${prefix}KEY_ID, ${prefix}PRIVATE_KEY: set all three (or a fixed ${prefix}CLIENT_SECRET)`);
    return null;
  }
  return { teamId, keyId, privateKey };
}
