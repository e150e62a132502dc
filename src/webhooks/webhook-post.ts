import http from "node:http";
import https from "node:https";
import { withinTime } from "../within-time.ts";
import { resolvePublicAddress } from "./address-guard.ts";

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Enough of a receiver's answer to show an administrator; the rest is not read. */
const MAX_BODY_BYTES = 1_024;

export type PostResult = { statusCode: number } | { error: string };

/**
 * POSTs a webhook: the host is resolved and checked here (address-guard.ts) and the connection goes to the
 * address checked, with the name kept for the Host header and TLS (SNI and certificate), so what is connected to is
 * what was checked. A redirect is an answer like any other (never followed); the whole exchange, name resolution
 * included, is bounded by `timeoutMs` (a name whose DNS never answers must not hold the attempt past its lease).
 */
export async function postWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  options: {
    allowInternal: boolean;
    timeoutMs?: number;
    /** How the host is resolved and checked; tests stand in a resolver that never answers. */
    resolve?: typeof resolvePublicAddress;
  },
): Promise<PostResult> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const started = performance.now();
  const timedOut = () => new Error(`no answer within ${timeoutMs} ms`);
  let target: { address: string; family: number };
  try {
    const resolve = options.resolve ?? resolvePublicAddress;
    target = await withinTime(resolve(url.hostname, options.allowInternal), timeoutMs, timedOut);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const secure = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    const request = (secure ? https : http).request({
      method: "POST",
      host: target.address,
      family: target.family,
      port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      // The certificate must be the name's, not the address's.
      ...(secure ? { servername: hostname } : {}),
      headers: { ...headers, host: url.host, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "user-agent": "Servauth-Webhooks" },
      agent: false,
    });
    // What the lookup left of the deadline.
    const timer = setTimeout(() => request.destroy(timedOut()), Math.max(0, timeoutMs - (performance.now() - started)));
    const settle = (result: PostResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    request.on("response", (response) => {
      let read = 0;
      response.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_BODY_BYTES) response.destroy();
      });
      response.on("close", () => settle({ statusCode: response.statusCode ?? 0 }));
    });
    request.on("error", (error) => settle({ error: error.message }));
    request.end(body);
  });
}
