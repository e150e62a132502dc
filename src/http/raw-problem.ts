import { randomUUID } from "node:crypto";
import { ERROR_CODES, type ErrorCode } from "../errors.ts";
import { ALWAYS, DEFAULTS } from "./middleware/security-headers.ts";

/**
 * A complete HTTP/1.1 response, as bytes for a socket, for a request the runtime refused before the app saw it
 * (Node's clientError: headers too large, a malformed request). It carries what every answer of ours carries:
 * problem+json, the security headers and a fresh X-Request-Id (none could be read from a request that did not
 * parse), and closes the connection, whose framing can no longer be trusted.
 */
export function rawProblemResponse(code: ErrorCode): { requestId: string; bytes: string } {
  const { status, title } = ERROR_CODES[code];
  const requestId = randomUUID();
  const body = JSON.stringify({ type: `urn:servauth:error:${code}`, title, status, code, requestId });
  const headers = [
    ["Content-Type", "application/problem+json"],
    ...ALWAYS,
    ...DEFAULTS,
    ["X-Request-Id", requestId],
    ["Content-Length", String(Buffer.byteLength(body))],
    ["Connection", "close"],
  ];
  const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return { requestId, bytes: `HTTP/1.1 ${status} ${title}\r\n${head}\r\n${body}` };
}
