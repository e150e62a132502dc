import { isIP } from "node:net";
import type { Context } from "hono";

/** Reads the peer address of the TCP connection; supplied by the runtime adapter (Bun or Node). */
export type SocketAddressReader = (c: Context) => string | null;

/**
 * The client IP: the socket address, unless TRUST_PROXY=N, in which case the Nth address from the right of
 * X-Forwarded-For (each trusted proxy appends the address it saw). With TRUST_PROXY=0 a client-supplied
 * X-Forwarded-For is ignored entirely.
 */
export function resolveClientIp(socketAddress: string | null, forwardedFor: string | undefined, trustProxy: number): string | null {
  if (trustProxy === 0 || forwardedFor === undefined) return socketAddress;
  const hops = forwardedFor.split(",").map((hop) => hop.trim());
  // A chain shorter than the proxies we trust did not come through them all (a client reached us directly, or a
  // proxy is misconfigured): nothing in it is vouched for. Likewise a hop that is not an address.
  const hop = hops.length >= trustProxy ? hops[hops.length - trustProxy] : undefined;
  return hop !== undefined && isIP(hop) !== 0 ? hop : socketAddress;
}
