import { createHash } from "node:crypto";
import type { Logger } from "../observability/logger.ts";

export type PwnedPasswordsOptions = {
  /** HIBP_API_URL: https://api.pwnedpasswords.com, or a mirror. */
  apiUrl: string;
  /** HIBP_TIMEOUT_MS: a sign-up must not hang on a third party. */
  timeoutMs: number;
  logger: Logger;
};

/**
 * The Have I Been Pwned "Pwned Passwords" range API, with k-anonymity: only the first 5 hex digits of the password's
 * SHA-1 leave the process, and the answer lists every breached suffix under that prefix, which is compared here.
 * Add-Padding asks for decoy entries (count 0) so the size of the answer does not hint at the prefix either.
 * Fails open: when the service is slow, down or answers nonsense the password counts as not found and a warning is
 * logged, so an outage at HIBP never blocks registration; the offline list still applies.
 */
export function createPwnedPasswordsCheck({ apiUrl, timeoutMs, logger }: PwnedPasswordsOptions) {
  const base = apiUrl.replace(/\/+$/, "");
  return async function isPwned(password: string): Promise<boolean> {
    const digest = createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
    const prefix = digest.slice(0, 5);
    try {
      const response = await fetch(`${base}/range/${prefix}`, {
        headers: { "Add-Padding": "true", "User-Agent": "servauth" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        logger.warn({ component: "hibp", status: response.status }, "Pwned Passwords answered with an error; password not checked");
        return false;
      }
      return breachCount(await response.text(), digest.slice(5)) > 0;
    } catch (error) {
      logger.warn({ component: "hibp", err: error }, "Pwned Passwords unreachable or too slow; password not checked");
      return false;
    }
  };
}

/** The count on the "SUFFIX:COUNT" line for `suffix`, 0 when absent (padding lines carry 0 too). */
function breachCount(body: string, suffix: string): number {
  for (const line of body.split("\n")) {
    const [lineSuffix, count] = line.trim().split(":");
    if (lineSuffix?.toUpperCase() === suffix) return Number.parseInt(count ?? "0", 10) || 0;
  }
  return 0;
}
