import { isIP } from "node:net";
import type { Context } from "hono";
import { AppError } from "../../errors.ts";

/**
 * Reads the peer address of the TCP connection; supplied by the runtime adapter (Bun or Node). `request` is the
 * request as it arrived: middleware may replace `c.req.raw` with a copy, and Bun knows the address only of its own.
 * Null once the connection is gone.
 */
export type SocketAddressReader = (c: Context, request: Request) => string | null;

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

/**
 * The client's address, read from the connection when first asked: on Bun each read is a system call
 * (getpeername, about a microsecond), and most authenticated reads never need the address. Once the client has
 * hung up, its address can no longer be read (both runtimes answer null, Node before it aborts the request's
 * signal): a request whose address is first asked for then is refused (CLIENT_CLOSED_REQUEST), never served
 * without its per-address limits. Nobody is there to receive either answer, so refusing costs the client nothing;
 * a request that changes state has its address read as it comes in (request-admission.ts), so it is never refused
 * part-way through.
 */
export class ClientAddress {
  #ip: string | undefined;
  readonly #c: Context;
  readonly #arrived: Request;
  readonly #readSocketAddress: SocketAddressReader;
  readonly #trustProxy: number;

  constructor(c: Context, readSocketAddress: SocketAddressReader, trustProxy: number) {
    this.#c = c;
    this.#arrived = c.req.raw;
    this.#readSocketAddress = readSocketAddress;
    this.#trustProxy = trustProxy;
  }

  /** The client IP as TRUST_PROXY resolves it. */
  get ip(): string {
    if (this.#ip !== undefined) return this.#ip;
    const ip = this.#resolve();
    if (ip === null) throw new AppError("CLIENT_CLOSED_REQUEST");
    return (this.#ip = ip);
  }

  /** Reads the address now, while the client is surely still there. */
  readNow(): void {
    void this.ip;
  }

  /** For the record only (a log line, an audit row of a refusal): the IP, or null once it cannot be read. */
  get ipIfKnown(): string | null {
    return this.#ip ?? this.#resolve();
  }

  #resolve(): string | null {
    return resolveClientIp(this.#readSocketAddress(this.#c, this.#arrived), this.#c.req.header("x-forwarded-for"), this.#trustProxy);
  }
}
