import { z } from "zod";
import { seconds } from "./fields.ts";

/** Personal API keys and OAuth 2.0 machine clients (src/machine/). */
export const machineVariables = {
  API_KEYS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(25)
    .describe("Live (not revoked, not expired) personal API keys one user may hold; POST /auth/api-keys answers 409 TOO_MANY_API_KEYS beyond it."),
  API_KEY_MAX_TTL: seconds(365 * 86_400).describe(
    "The longest lifetime (seconds) an API key may be given, and the lifetime of one created without expiresAt: every key expires.",
  ),
  MACHINE_TOKEN_TTL: z.coerce
    .number()
    .int()
    .min(60)
    .max(86_400)
    .default(600)
    .describe("Lifetime (seconds) of an access token from POST /oauth2/token (client credentials), unless the client has its own accessTokenTtl."),
};
