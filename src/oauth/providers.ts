import type { OAuthConfig } from "../config/env/oauth.ts";
import { AppError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { createGithubProvider } from "./github-provider.ts";
import { createOidcProvider } from "./oidc-provider.ts";
import type { OAuthProvider } from "./provider.ts";

export type ProviderStatus = "ok" | "unavailable" | "pending";

/** The providers of OAUTH_PROVIDERS, by name. */
export function createProviderRegistry(config: Pick<OAuthConfig, "providers" | "httpTimeoutMs">, logger: Logger) {
  const providers = new Map<string, OAuthProvider>(
    config.providers.map((provider) => [
      provider.id,
      provider.kind === "github" ? createGithubProvider(provider, config.httpTimeoutMs) : createOidcProvider(provider, config.httpTimeoutMs, logger),
    ]),
  );

  /** Discovery; its outcome is the provider's status. Never rejects. */
  const discover = (provider: OAuthProvider) => provider.prepare().catch(() => {});

  return {
    list: () => [...providers.values()].map(({ id, name }) => ({ id, name })),

    /** OAUTH_PROVIDER_UNKNOWN for a name that is not configured. */
    get(id: string): OAuthProvider {
      const provider = providers.get(id);
      if (provider === undefined) throw new AppError("OAUTH_PROVIDER_UNKNOWN");
      return provider;
    },

    /**
     * Starts discovery for every provider whose metadata is not loaded, without waiting (at start, and on each
     * GET /ready): a provider that was down recovers without a restart, and a failure is never fatal.
     */
    warmUp(): void {
      for (const provider of providers.values()) {
        if (provider.status() !== "ok") void discover(provider);
      }
    },

    /** Each provider's discovery as last seen: "pending" until its first one ends. */
    statuses(): Record<string, ProviderStatus> {
      return Object.fromEntries([...providers.values()].map((provider) => [provider.id, provider.status()]));
    },

    /** Runs discovery where it is missing and waits for the outcome (`servauth config check`). */
    async check(): Promise<Record<string, ProviderStatus>> {
      await Promise.all([...providers.values()].map(discover));
      return this.statuses();
    },
  };
}

export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;
