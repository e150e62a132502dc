import { AppError } from "../errors.ts";
import { ForbiddenAddressError, resolvePublicAddress } from "./address-guard.ts";

export type EndpointUrlPolicy = { allowInternal: boolean; isProduction: boolean };

/**
 * An endpoint URL as given at creation or change: https in production (unless internal networks are allowed),
 * no user info (the secret is the credential, and URLs end up in logs), and a host that resolves only to public
 * addresses. Every delivery checks the address again when it connects (webhook-post.ts).
 */
export async function assertEndpointUrl(raw: string, policy: EndpointUrlPolicy): Promise<URL> {
  const url = new URL(raw);
  const refuse = (detail: string) => new AppError("WEBHOOK_URL_FORBIDDEN", { message: detail });
  if (url.protocol !== "https:" && url.protocol !== "http:") throw refuse("The URL must be http(s)");
  if (url.protocol === "http:" && policy.isProduction && !policy.allowInternal) throw refuse("The URL must be https in production");
  if (url.username !== "" || url.password !== "") throw refuse("The URL must not carry a user name or password");
  try {
    await resolvePublicAddress(url.hostname, policy.allowInternal);
  } catch (error) {
    if (error instanceof ForbiddenAddressError) throw refuse(error.address === null ? "The URL's host does not resolve" : "The URL resolves to an internal address");
    throw error;
  }
  return url;
}
