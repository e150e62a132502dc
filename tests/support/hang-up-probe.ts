/**
 * What Bun and Node tell a handler about a client that hung up, through Servauth's runtime adapter: run on either
 * runtime by tests/e2e/client-address.test.ts. It listens on a free port and prints `{"url"}`; each request to
 * /?early=1 (its address read as it arrives) or / (not read) waits until its client hangs up, then prints what
 * the client address gives: the IP, or the refusal's code. With copy=1 the request is first replaced by a copy,
 * as the body watch and hono's bodyLimit do.
 */
import { Hono } from "hono";
import { AppError } from "../../src/errors.ts";
import { ClientAddress } from "../../src/http/middleware/client-ip.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { detectRuntime } from "../../src/server/runtime.ts";

const HANG_UP_WAIT_MS = 10_000;

/** The address, or the code of the refusal reading it threw. */
function ipOrRefusal(client: ClientAddress): string {
  try {
    return client.ip;
  } catch (error) {
    return error instanceof AppError ? error.code : String(error);
  }
}
const runtime = await detectRuntime();
const app = new Hono();
app.get("/", async (c) => {
  const client = new ClientAddress(c, runtime.readSocketAddress, 0);
  if (c.req.query("copy") !== undefined) c.req.raw = new Request(c.req.raw);
  const early = c.req.query("early") === undefined ? undefined : ipOrRefusal(client);
  const signal = c.req.raw.signal;
  const hungUp = await new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(true);
    signal.addEventListener("abort", () => resolve(true));
    setTimeout(() => resolve(false), HANG_UP_WAIT_MS);
  });
  process.stdout.write(`${JSON.stringify({ early, hungUp, late: ipOrRefusal(client), forTheLog: client.ipIfKnown })}\n`);
  return c.body(null, 204);
});
const server = await runtime.listen(app.fetch, {
  host: "127.0.0.1",
  port: 0,
  timeouts: { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30 },
  shared: false,
  logger: createLogger({ level: "silent" }),
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
