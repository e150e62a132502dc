import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../errors.ts";

/**
 * Refuses bodies over maxBytes while they stream in (Content-Length or not) with 413 PAYLOAD_TOO_LARGE. The answer
 * ends the connection: the rest of the body is still on its way, and a runtime that kept the connection would read
 * and discard it for as long as the client sends (one connection held open without end).
 */
export function limitBodySize(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", {
        message: `The request body must not exceed ${maxBytes} bytes`,
        headers: { Connection: "close" },
      });
    },
  });
}
