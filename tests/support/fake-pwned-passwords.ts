import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export type FakePwnedPasswords = {
  /** Base URL to give as HIBP_API_URL / apiUrl. */
  url: string;
  /** Every request: its path and headers. */
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  /** What the next requests get: the range answer (default), an HTTP status, or no answer for this long. */
  behave(mode: { status: number } | { delayMs: number } | "normal"): void;
  close(): Promise<void>;
};

/**
 * A local stand-in for the Pwned Passwords range API (GET /range/{5 hex}): it answers "SUFFIX:COUNT" lines for the
 * breached passwords it was given, plus padding lines with count 0, as the real service does with Add-Padding.
 * `padded` passwords appear only as padding (count 0), which must not count as breached.
 */
export async function startFakePwnedPasswords(breached: Record<string, number>, padded: string[] = []): Promise<FakePwnedPasswords> {
  const sha1 = (password: string) => createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
  const entries = [...Object.entries(breached).map(([password, count]) => [sha1(password), count] as const), ...padded.map((password) => [sha1(password), 0] as const)];
  const requests: FakePwnedPasswords["requests"] = [];
  let mode: Parameters<FakePwnedPasswords["behave"]>[0] = "normal";
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? "", headers: request.headers });
    if (typeof mode === "object" && "delayMs" in mode) {
      const timer = setTimeout(() => response.end(), mode.delayMs);
      response.on("close", () => clearTimeout(timer));
      return;
    }
    if (typeof mode === "object") return void response.writeHead(mode.status).end();
    const prefix = /^\/range\/([0-9A-F]{5})$/.exec(request.url ?? "")?.[1];
    if (prefix === undefined) return void response.writeHead(400).end("The hash prefix was not in a valid format");
    const lines = entries.filter(([hash]) => hash.startsWith(prefix)).map(([hash, count]) => `${hash.slice(5)}:${count}`);
    // Decoys with count 0, as Add-Padding asks for; CRLF line ends, as the real service sends.
    for (let index = 0; index < 3; index += 1) lines.push(`${sha1(`decoy-${prefix}-${index}`).slice(5)}:0`);
    response.writeHead(200, { "content-type": "text/plain" }).end(lines.join("\r\n"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave: (next) => void (mode = next),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
