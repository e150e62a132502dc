import type { Context } from "hono";
import { OAuthError } from "../machine/oauth-error.ts";
import type { PresentedClient } from "../machine/oauth-endpoints.ts";
import type { AppEnv } from "./app-env.ts";

/** A request parameter's longest sensible value: a JWT or a key is far shorter; anything longer is junk. */
const MAX_PARAMETER_LENGTH = 8192;

/**
 * The form of an OAuth 2.0 request: `application/x-www-form-urlencoded` (RFC 6749 section 3.2), each parameter at
 * most once (section 3.1: a repeated one is invalid_request, not "the last one wins").
 */
export async function readOAuthForm(c: Context<AppEnv>): Promise<Map<string, string>> {
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") throw new OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded");
  const form = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(await c.req.text())) {
    if (form.has(name)) throw new OAuthError("invalid_request", `The parameter ${name} is repeated`);
    if (value.length > MAX_PARAMETER_LENGTH) throw new OAuthError("invalid_request", `The parameter ${name} is too long`);
    form.set(name, value);
  }
  return form;
}

/** A required parameter; invalid_request when it is missing or empty. */
export function requiredParameter(form: Map<string, string>, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === "") throw new OAuthError("invalid_request", `The parameter ${name} is required`);
  return value;
}

/** RFC 6749 appendix B: each part of Basic credentials is form-urlencoded first. */
function formDecode(part: string): string {
  return decodeURIComponent(part.replaceAll("+", " "));
}

/**
 * The client credentials a request presents: `client_secret_basic` (the Authorization header) or
 * `client_secret_post` (client_id and client_secret in the form), null when there are none. Using both at once is
 * invalid_request (section 2.3: one method per request); unreadable Basic credentials are invalid_client.
 */
export function presentedClient(c: Context<AppEnv>, form: Map<string, string>): PresentedClient | null {
  const authorization = c.req.header("authorization");
  const postedId = form.get("client_id");
  const postedSecret = form.get("client_secret");
  if (authorization !== undefined) {
    if (postedSecret !== undefined) throw new OAuthError("invalid_request", "Use one client authentication method, not two");
    const encoded = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(authorization)?.[1];
    const decoded = encoded === undefined ? "" : Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthError("invalid_client", "Unreadable client credentials");
    try {
      const clientId = formDecode(decoded.slice(0, colon));
      if (postedId !== undefined && postedId !== clientId) throw new OAuthError("invalid_request", "client_id differs from the authenticated client");
      return { clientId, clientSecret: formDecode(decoded.slice(colon + 1)) };
    } catch (error) {
      if (error instanceof URIError) throw new OAuthError("invalid_client", "Unreadable client credentials");
      throw error;
    }
  }
  if (postedId === undefined && postedSecret === undefined) return null;
  if (postedId === undefined || postedSecret === undefined) throw new OAuthError("invalid_client", "Client authentication needs client_id and client_secret");
  return { clientId: postedId, clientSecret: postedSecret };
}
