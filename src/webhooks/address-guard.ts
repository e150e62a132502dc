import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/**
 * Where a webhook must never be sent (SSRF): this host, the private networks behind it, link-local addresses
 * (169.254.169.254 is the cloud metadata service), and the reserved ranges. IPv6 forms of the same (::1, ULA
 * fc00::/7 which holds AWS's fd00:ec2::254, link-local fe80::/10, the deprecated site-local fec0::/10) are included;
 * an IPv6 address that carries an IPv4 one (mapped, SIIT-translated, IPv4-compatible, NAT64 64:ff9b::/96, 6to4) is
 * judged by the IPv4 address inside it, and the local-use NAT64 prefix 64:ff9b:1::/48 (where the IPv4 address may sit
 * anywhere, RFC 6052) is refused whole.
 */
const internal = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) internal.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["64:ff9b:1::", 48],
  ["ff00::", 8],
  ["2001:db8::", 32],
] as const) internal.addSubnet(network, prefix, "ipv6");

/** The eight 16-bit groups of an IPv6 address (WHATWG URL parsing writes any form, dotted tail included, as hex). */
function ipv6Groups(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = "", tail] = canonical.split("::");
  const part = (text: string) => (text === "" ? [] : text.split(":").map((group) => Number.parseInt(group, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const dotted = (high: number, low: number) => [high >> 8, high & 255, low >> 8, low & 255].join(".");

/** The IPv4 address an IPv6 one carries, if any. */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address.split("%")[0] ?? address) as [number, number, number, number, number, number, number, number];
  const zeros = (from: number, to: number) => g.slice(from, to).every((group) => group === 0);
  // ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (SIIT), ::a.b.c.d (IPv4-compatible), 64:ff9b::a.b.c.d (NAT64).
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return dotted(g[6], g[7]);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return dotted(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dotted(g[6], g[7]);
  // 2002:a.b.c.d::/48 (6to4).
  if (g[0] === 0x2002) return dotted(g[1], g[2]);
  return null;
}

export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, "ipv4");
  if (family !== 6) return true;
  const inner = embeddedIpv4(address);
  return inner !== null ? internal.check(inner, "ipv4") : internal.check(address, "ipv6");
}

export class ForbiddenAddressError extends Error {
  constructor(readonly hostname: string, readonly address: string | null) {
    super(address === null ? `${hostname} does not resolve` : `${hostname} resolves to an internal address (${address})`);
    this.name = "ForbiddenAddressError";
  }
}

/**
 * The address to connect to for `hostname`: every address it resolves to is checked (an attacker's name may
 * answer one public and one internal address), and the caller connects to the one returned, never resolving again,
 * so a second answer (DNS rebinding) cannot swap an internal address in. `allowInternal`: any address goes.
 */
export async function resolvePublicAddress(hostname: string, allowInternal: boolean): Promise<{ address: string; family: number }> {
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const family = isIP(bare);
  const answers = family !== 0 ? [{ address: bare, family }] : await lookup(bare, { all: true, verbatim: true }).catch(() => []);
  const [first] = answers;
  if (first === undefined) throw new ForbiddenAddressError(hostname, null);
  if (!allowInternal) for (const answer of answers) if (isInternalAddress(answer.address)) throw new ForbiddenAddressError(hostname, answer.address);
  return first;
}
