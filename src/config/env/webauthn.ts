import { z } from "zod";
import { flag, originList } from "./fields.ts";

/** A DNS name (the RP ID is a registrable domain or a suffix of one, never a URL, a port or a path). */
const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
    message: "must be a host name like example.com (no scheme, port or path)",
  });

/** Passkeys and security keys (WebAuthn). Origins and the RP ID come from here only, never from a request. */
export const webauthnVariables = {
  WEBAUTHN_RP_ID: hostName
    .optional()
    .describe(
      "The relying party ID passkeys are bound to: APP_URL's host or a parent domain of every page that calls navigator.credentials " +
        "(example.com serves app.example.com and login.example.com). Unset: APP_URL's host. Changing it later orphans every registered passkey.",
    ),
  WEBAUTHN_RP_NAME: z.string().trim().min(1).max(64).default("Servauth").describe("The name authenticators show for this site when a passkey is made."),
  WEBAUTHN_ORIGINS: originList.describe(
    "Comma-separated origins whose pages may register and use passkeys (the clientDataJSON origin must be one of them). " +
      "Unset: APP_URL's origin plus CORS_ORIGINS.",
  ),
  WEBAUTHN_STRICT_COUNTER: flag(true).describe(
    "true: an assertion whose signature counter is not above the stored one (a cloned authenticator, or a replay) is refused and audited " +
      "(passkey.refused). Authenticators that always report 0 (synced passkeys) keep working either way. false: counters are recorded, never enforced.",
  ),
};

/**
 * Browsers use a passkey only on a page whose host is the RP ID or under it: an origin in WEBAUTHN_ORIGINS outside
 * the RP ID could never complete a ceremony, so it is a mistake to report now rather than a puzzle at sign-in.
 * (The default origins include CORS_ORIGINS, which may serve other purposes, so only an explicit list is checked.)
 */
export function webauthnProblems(present: Record<string, string | undefined>): string[] {
  const origins = present.WEBAUTHN_ORIGINS;
  if (origins === undefined) return [];
  const appHost = present.APP_URL !== undefined && URL.canParse(present.APP_URL) ? new URL(present.APP_URL).hostname : "localhost";
  const rpId = (present.WEBAUTHN_RP_ID ?? appHost).trim().toLowerCase();
  return origins
    .split(",")
    .map((item) => item.trim())
    .filter((item) => URL.canParse(item))
    .map((item) => new URL(item).hostname)
    .filter((host) => host !== rpId && !host.endsWith(`.${rpId}`))
    .map((host) => `WEBAUTHN_ORIGINS: ${host} is not ${rpId} nor under it (WEBAUTHN_RP_ID), so no browser would use a passkey there`);
}
