import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";

/**
 * Reads the request body through a watch that tells the client's part from ours. A read that fails is the
 * client's doing (a malformed chunked body, which the runtime refuses, or a connection that broke): 400
 * MALFORMED_REQUEST, not a 500. And while a read waits for bytes the client has yet to send, a deadline that
 * passes is the client's too (408, deadline.ts), not a dependency's.
 */
export const watchRequestBody = createMiddleware<AppEnv>(async (c, next) => {
  const source = c.req.raw.body;
  if (source === null) return next();
  const reader = source.getReader();
  let pendingReads = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      pendingReads += 1;
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(new AppError("MALFORMED_REQUEST", { cause: error }));
      } finally {
        pendingReads -= 1;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  c.set("awaitingClient", () => pendingReads > 0);
  // duplex: a stream body must say so on Node (undici); Bun ignores it.
  c.req.raw = new Request(c.req.raw, { body, duplex: "half" } as RequestInit);
  await next();
});
