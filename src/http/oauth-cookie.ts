import type { Context } from "hono";
import { deleteCookie, generateCookie, getCookie, setCookie } from "hono/cookie";

/**
 * The cookie that binds a social-login flow to the browser that started it; its value is the sealed flow state.
 * SameSite=None, so that it comes back with a provider's form-POST callback (Apple's), which a Lax cookie would not;
 * that makes it Secure too (browsers accept Secure cookies over http only on localhost). It opens nothing by
 * itself: the callback must also carry the provider's code for this flow's state, PKCE verifier and nonce.
 * HttpOnly, Path=/, and __Host- prefixed in production.
 */
export function createOAuthCookie(production: boolean) {
  const name = production ? "__Host-servauth.oauth" : "servauth.oauth";
  const options = { httpOnly: true, secure: true, sameSite: "None" as const, path: "/" };
  return {
    name,
    read: (c: Context) => getCookie(c, name),
    set: (c: Context, value: string, maxAgeSeconds: number) => setCookie(c, name, value, { ...options, maxAge: maxAgeSeconds }),
    clear: (c: Context) => deleteCookie(c, name, options),
    /** The header value that clears it, for a refusal (an error answer carries no cookies set on the context). */
    cleared: () => generateCookie(name, "", { ...options, maxAge: 0 }),
  };
}

export type OAuthCookie = ReturnType<typeof createOAuthCookie>;

/** The provider callbacks: a form-POST one comes from the provider's origin by design (see csrf.ts). */
export const isProviderCallback = (path: string) => /^\/auth\/oauth\/providers\/[^/]+\/callback$/.test(path);
