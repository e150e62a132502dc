import { describe, expect, it } from "vitest";
import { isInternalAddress } from "../../src/webhooks/address-guard.ts";

// IPv6 forms that carry an internal IPv4 address, or are not global: routed to the IPv4 address inside where a NAT64
// translator with the local-use prefix, a 6to4 relay or SIIT is in the path (IPv6-only clusters).
describe("the webhook address guard", () => {
  it.each([
    "64:ff9b:1::7f00:1", // RFC 8215 local-use NAT64 prefix, 127.0.0.1
    "64:ff9b:1::a9fe:a9fe", // ... 169.254.169.254
    "64:ff9b::a9fe:a9fe", // well-known NAT64 prefix, 169.254.169.254
    "2002:a9fe:a9fe::1", // 6to4, 169.254.169.254
    "2002:0a00:0001::", // 6to4, 10.0.0.1
    "::ffff:0:a9fe:a9fe", // SIIT IPv4-translated, 169.254.169.254
    "::ffff:0:169.254.169.254", // the same, dotted
    "::ffff:169.254.169.254", // IPv4-mapped
    "::ffff:7f00:1", // IPv4-mapped, hex
    "::a9fe:a9fe", // IPv4-compatible (deprecated), 169.254.169.254
    "::127.0.0.1", // the same, dotted
    "fec0::1", // site-local (deprecated, still routed on some networks)
    "fe80::1%eth0", // link-local with a zone
    "::1",
    "::",
  ])("refuses %s", (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each(["2606:4700:4700::1111", "2002:0808:0808::1", "64:ff9b::808:808", "::ffff:8.8.8.8", "8.8.8.8"])("lets the public %s through", (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });
});
