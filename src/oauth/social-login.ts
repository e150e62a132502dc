import { AppError } from "../errors.ts";
import type { StepUp } from "../flows/step-up.ts";
import type { Attempt, SignedIn, SignInFlow } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AuthenticatedSession } from "../sessions/session-service.ts";
import type { FlowStates } from "./flow-state.ts";
import type { IdentityLinking } from "./identity-linking.ts";
import type { ProviderCallback } from "./provider.ts";
import type { ProviderRegistry } from "./providers.ts";
import type { RedirectAllowlist } from "./redirect-allowlist.ts";
import type { SocialStrategy } from "./social-strategy.ts";

export type AuthorizeRequest = {
  provider: string;
  redirectTo: string;
  mode: "login" | "link";
  client: "browser" | "app";
  /** client=app (required there, refused otherwise): the S256 challenge of the app's PKCE verifier for the exchange. */
  codeChallenge: string | undefined;
  /** The signed-in caller; required for mode=link. */
  auth: AuthenticatedSession | null;
};

/**
 * Where the browser goes next. `flow`: the sealed flow state to keep (a cookie) until the callback; `signedIn`: a
 * browser's new session (its cookies). Every outcome after redirectTo passed the allowlist is a redirect there,
 * refusals included (`?error=<code>`).
 */
export type Redirect = { location: string; flow?: { sealed: string; maxAgeSeconds: number }; signedIn?: SignedIn };

/**
 * MFA_REQUIRED as a redirect: the methods and expiry in the query (a list comma-joined), the mfaToken in the
 * fragment, which browsers keep out of requests, server logs and Referer headers.
 */
function secondFactorLocation(target: string, error: AppError): string {
  const { mfaToken, methods, expiresAt } = error.extensions ?? {};
  const url = new URL(withParams(target, {
    error: error.code,
    ...(methods === undefined ? {} : { methods: methods.join(",") }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }));
  if (mfaToken !== undefined) url.hash = new URLSearchParams({ mfaToken }).toString();
  return url.toString();
}

/** redirectTo with the outcome's parameters added. */
function withParams(target: URL | string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

export type SocialLoginDeps = {
  providers: ProviderRegistry;
  allowlist: RedirectAllowlist;
  flows: FlowStates;
  linking: IdentityLinking;
  social: SocialStrategy;
  signInFlow: Pick<SignInFlow, "signIn" | "signInProven">;
  stepUp: Pick<StepUp, "assertRecent">;
  audit: Pick<AuditLog, "record">;
  /** APP_URL: the callback URL registered at each provider is {appUrl}/auth/oauth/providers/{provider}/callback. */
  appUrl: string;
  flowTtlSeconds: number;
};

/**
 * Social login and linking (OpenID Connect and plain OAuth 2.0): start a flow, complete it at the callback, and
 * exchange an app's one-time code for tokens. The flow lives in the browser, sealed and single use
 * (flow-state.ts); who signs in is decided by the linking rules (identity-linking.ts).
 */
export function createSocialLogin(deps: SocialLoginDeps) {
  const { providers, allowlist, flows, linking, social, signInFlow, stepUp, audit, appUrl, flowTtlSeconds } = deps;
  const callbackUrl = (provider: string) => `${appUrl}/auth/oauth/providers/${provider}/callback`;

  /** A refusal after redirectTo was accepted: back there with its code, precise in the audit trail only. */
  async function refused(error: unknown, target: string, attempt: Attempt, provider: string, userId: string | null): Promise<Redirect> {
    if (!(error instanceof AppError) || error.status === 500) throw error;
    const reason = error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
    // A second factor is due: not a failure, and the browser needs the mfaToken to finish (POST /auth/mfa/verify).
    if (error.code === "MFA_REQUIRED") return { location: secondFactorLocation(target, error) };
    await audit.record("oauth.failed", { userId, payload: { provider, code: error.code, reason: reason.slice(0, 500) } }, attempt.audit);
    return { location: withParams(target, { error: error.code }) };
  }

  return {
    list: () => providers.list(),

    /** The redirect to the provider, and the flow to keep. OAUTH_PROVIDER_UNKNOWN, REDIRECT_NOT_ALLOWED and VALIDATION_FAILED are thrown. */
    async authorize(request: AuthorizeRequest, attempt: Attempt): Promise<Redirect> {
      const provider = providers.get(request.provider);
      const target = allowlist.parse(request.redirectTo);
      if ((request.client === "app") !== (request.codeChallenge !== undefined)) {
        const message = request.client === "app" ? "client=app needs a code_challenge (PKCE S256)" : "code_challenge is for client=app only";
        throw new AppError("VALIDATION_FAILED", { errors: [{ path: "code_challenge", message }] });
      }
      const userId = request.auth?.user.id ?? null;
      try {
        if (request.mode === "link") {
          if (request.auth === null) throw new AppError("UNAUTHENTICATED");
          stepUp.assertRecent(request.auth.session);
        }
        const { flow, sealed } = await flows.start({
          provider: provider.id,
          mode: request.mode,
          userId: request.mode === "link" ? userId : null,
          redirectTo: target.toString(),
          client: request.client,
          appCodeChallenge: request.codeChallenge ?? null,
        });
        const location = await provider.authorizationUrl({ ...flow, redirectUri: callbackUrl(provider.id) });
        return { location: location.toString(), flow: { sealed, maxAgeSeconds: flowTtlSeconds } };
      } catch (error) {
        return refused(error, target.toString(), attempt, provider.id, userId);
      }
    },

    /**
     * The provider's return. Without a readable flow there is nowhere safe to go: OAUTH_FLOW_INVALID is thrown.
     * Otherwise: a browser is signed in (login) or the identity linked (link), and sent to redirectTo; an app gets
     * a one-time `code` there instead of a session.
     */
    async callback(providerId: string, callback: ProviderCallback, sealedFlow: string | undefined, attempt: Attempt): Promise<Redirect> {
      const flow = await flows.open(sealedFlow);
      try {
        if (flow.provider !== providerId) throw new AppError("OAUTH_FLOW_INVALID", { message: "The flow was started for another provider" });
        await flows.spend(flow);
        const provider = providers.get(providerId);
        const identity = await provider.complete(callback, { ...flow, redirectUri: callbackUrl(providerId) });
        const name = { id: provider.id, name: provider.name };
        if (flow.mode === "link" && flow.userId !== null) {
          await linking.linkTo(flow.userId, name, identity, attempt.audit);
          return { location: withParams(flow.redirectTo, { linked: provider.id }) };
        }
        if (flow.appCodeChallenge !== null) {
          const proof = await social.strategy.prove({ provider: name, identity }, attempt);
          const code = await flows.issueExchangeCode({ userId: proof.user.id, provider: provider.id, subject: identity.subject, codeChallenge: flow.appCodeChallenge });
          return { location: withParams(flow.redirectTo, { code }) };
        }
        const signedIn = await signInFlow.signIn(social.strategy, { provider: name, identity }, attempt);
        return { location: flow.redirectTo, signedIn };
      } catch (error) {
        return refused(error, flow.redirectTo, attempt, providerId, flow.userId);
      }
    },

    /** POST /auth/oauth/exchange: an app's one-time code and PKCE verifier for a session, as any sign-in answers. */
    async exchange(code: string, codeVerifier: string, attempt: Attempt): Promise<SignedIn> {
      const exchange = await flows.redeemExchangeCode(code, codeVerifier);
      return signInFlow.signInProven([await social.proofFromExchange(exchange.userId, exchange.provider, exchange.subject)], attempt);
    },
  };
}

export type SocialLogin = ReturnType<typeof createSocialLogin>;
