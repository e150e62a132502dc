import { BlockList, isIP } from "node:net";

/** "203.0.113.0/24" or "2001:db8::/32" (a bare address is a /32 or /128); null when it is neither. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefixText] = cidr.split("/");
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? "ipv4" : "ipv6";
  const maxPrefix = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix ? { address, prefix, family } : null;
}

/**
 * BLOCKLIST_CIDRS as a matcher; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match their IPv4 ranges. Null when
 * the list is empty: there is nothing to check, and no address need be read for it.
 */
export function createBlocklist(cidrs: string[]): ((ip: string | null) => boolean) | null {
  if (cidrs.length === 0) return null;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed !== null) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (ip) => {
    if (ip === null) return false;
    const version = isIP(ip);
    return version !== 0 && list.check(ip, version === 4 ? "ipv4" : "ipv6");
  };
}
