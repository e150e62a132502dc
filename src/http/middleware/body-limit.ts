import { bodyLimit } from "hono/body-limit";
import { AppError } from "../../errors.ts";

/** Refuses bodies over maxBytes while they stream in (Content-Length or not) with 413 PAYLOAD_TOO_LARGE. */
export function limitBodySize(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", { message: `The request body must not exceed ${maxBytes} bytes` });
    },
  });
}
