import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.ts";
import { ClientAddress, resolveClientIp } from "../../src/http/middleware/client-ip.ts";

const SOCKET = "203.0.113.7";

const FORGED_HEADERS = [
  "1.2.3.4",
  "127.0.0.1",
  "10.0.0.1, 10.0.0.2",
  "::1",
  "2001:db8::1",
  "unknown",
  "",
  " ",
  ",,,",
  "1.1.1.1, 2.2.2.2, 3.3.3.3",
  "<script>alert(1)</script>",
  "192.168.0.1,",
  ", 8.8.8.8",
  "203.0.113.7, 6.6.6.6",
  "999.999.999.999",
  "x".repeat(4096),
  "0.0.0.0",
  "localhost",
  "fe80::1%eth0",
  "198.51.100.1 , 198.51.100.2 , 198.51.100.3",
];

describe("resolveClientIp with TRUST_PROXY=0", () => {
  it("has 20 distinct forged X-Forwarded-For values to try", () => {
    expect(new Set(FORGED_HEADERS).size).toBe(20);
  });

  it.each(FORGED_HEADERS)("ignores X-Forwarded-For %j and returns the socket address", (header) => {
    expect(resolveClientIp(SOCKET, header, 0)).toBe(SOCKET);
  });

  it("returns the socket address when there is no header", () => {
    expect(resolveClientIp(SOCKET, undefined, 0)).toBe(SOCKET);
  });

  it("returns null when the runtime gives no socket address, whatever the header says", () => {
    expect(resolveClientIp(null, "1.2.3.4", 0)).toBeNull();
  });
});

describe("resolveClientIp with trusted proxies", () => {
  it("TRUST_PROXY=1 takes the rightmost address (the one our proxy appended)", () => {
    expect(resolveClientIp(SOCKET, "198.51.100.9", 1)).toBe("198.51.100.9");
    // A client-forged prefix is ignored: the proxy appended the real peer at the end.
    expect(resolveClientIp(SOCKET, "6.6.6.6, 198.51.100.9", 1)).toBe("198.51.100.9");
    expect(resolveClientIp(SOCKET, "1.1.1.1, 2.2.2.2, 3.3.3.3", 1)).toBe("3.3.3.3");
  });

  it("TRUST_PROXY=2 takes the second address from the right", () => {
    expect(resolveClientIp(SOCKET, "198.51.100.9, 10.0.0.5", 2)).toBe("198.51.100.9");
    expect(resolveClientIp(SOCKET, "6.6.6.6, 198.51.100.9, 10.0.0.5", 2)).toBe("198.51.100.9");
    expect(resolveClientIp(SOCKET, "1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4", 2)).toBe("3.3.3.3");
  });

  it("trims whitespace around entries", () => {
    expect(resolveClientIp(SOCKET, "  6.6.6.6 ,\t198.51.100.9  ,  10.0.0.5  ", 2)).toBe("198.51.100.9");
    expect(resolveClientIp(SOCKET, "   198.51.100.9   ", 1)).toBe("198.51.100.9");
  });

  it("trusts no hop that is empty or not an address", () => {
    expect(resolveClientIp(SOCKET, "198.51.100.9,,  ,", 1)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, "198.51.100.9, , 10.0.0.5", 2)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, "198.51.100.9, not-an-ip<script>", 1)).toBe(SOCKET);
  });

  it("handles IPv6 entries", () => {
    expect(resolveClientIp(SOCKET, "2001:db8::1, 2001:db8::2", 1)).toBe("2001:db8::2");
    expect(resolveClientIp(SOCKET, "2001:db8::1, 2001:db8::2", 2)).toBe("2001:db8::1");
  });

  it("with fewer hops than trusted proxies (the request bypassed them), uses the socket address", () => {
    expect(resolveClientIp(SOCKET, "198.51.100.9", 2)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, "198.51.100.9, 10.0.0.5", 3)).toBe(SOCKET);
  });

  it("falls back to the socket address when the header is missing", () => {
    expect(resolveClientIp(SOCKET, undefined, 1)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, undefined, 2)).toBe(SOCKET);
    expect(resolveClientIp(null, undefined, 1)).toBeNull();
  });

  it("falls back to the socket address when the header holds no address", () => {
    expect(resolveClientIp(SOCKET, "", 1)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, "  ", 1)).toBe(SOCKET);
    expect(resolveClientIp(SOCKET, " , ,", 2)).toBe(SOCKET);
  });
});

describe("ClientAddress", () => {
  /** A request on an app with the address reader given; `hangUp` aborts its signal as the runtimes do on a hang-up. */
  async function addressOf(read: (request: Request) => string | null, headers: Record<string, string> = {}, trustProxy = 0) {
    const hangUp = new AbortController();
    const reads = { count: 0 };
    const app = new Hono();
    let client: ClientAddress | undefined;
    app.get("/", (c) => {
      client = new ClientAddress(c, (_, request) => (reads.count++, read(request)), trustProxy);
      return c.body(null, 204);
    });
    await app.request("/", { headers, signal: hangUp.signal });
    if (client === undefined) throw new Error("the route did not run");
    return { client, reads, hangUp: () => hangUp.abort() };
  }

  it("reads the socket when first asked, once", async () => {
    const { client, reads } = await addressOf(() => SOCKET);
    expect(reads.count).toBe(0);
    expect(client.ip).toBe(SOCKET);
    expect(client.ip).toBe(SOCKET);
    expect(client.ipIfKnown).toBe(SOCKET);
    expect(reads.count).toBe(1);
  });

  it("keeps the address read before the client hung up", async () => {
    let socket: string | null = SOCKET;
    const { client, hangUp } = await addressOf(() => socket);
    client.readNow();
    socket = null;
    hangUp();
    expect(client.ip).toBe(SOCKET);
  });

  it("refuses with CLIENT_CLOSED_REQUEST when first asked once the address cannot be read, every time", async () => {
    // Whether or not the signal says so yet: Node drops the socket before it aborts the request's signal.
    const { client } = await addressOf(() => null);
    for (let attempt = 0; attempt < 2; attempt++) expect(() => client.ip).toThrow(expect.objectContaining({ code: "CLIENT_CLOSED_REQUEST", status: 400 }));
    expect(() => client.readNow()).toThrow(AppError);
    // The log line's read never throws.
    expect(client.ipIfKnown).toBeNull();
  });

  it("asks the runtime about the request as it arrived, though middleware replaced it with a copy", async () => {
    const app = new Hono();
    const asked: Request[] = [];
    let arrived: Request | undefined;
    app.get("/", (c) => {
      arrived = c.req.raw;
      const client = new ClientAddress(c, (_, request) => (asked.push(request), request === arrived ? SOCKET : null), 0);
      // As the body watch and hono's bodyLimit do; Bun knows the address of its own request only.
      c.req.raw = new Request(c.req.raw);
      return c.json({ ip: client.ip });
    });
    expect(await (await app.request("/")).json()).toEqual({ ip: SOCKET });
    expect(asked).toEqual([arrived]);
  });

  it("behind a trusted proxy, still knows the forwarded address after the hang-up", async () => {
    const { client, hangUp } = await addressOf(() => null, { "x-forwarded-for": "198.51.100.9, 10.0.0.2" }, 2);
    hangUp();
    expect(client.ip).toBe("198.51.100.9");
  });
});
