import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { SAFE_METHODS } from "./csrf.ts";
import { requestDeadline } from "./deadline.ts";

export type RequestAdmissionOptions = {
  /** BLOCKLIST_CIDRS; null when it is empty (nothing to check, so the address need not be read for it). */
  isBlocked: ((ip: string | null) => boolean) | null;
  /** REQUEST_DEADLINE_MS. */
  deadlineMs: number;
};

/**
 * Whether a request is served, and for how long it may take: an address on the blocklist is refused before any
 * other work is done for it; any other request is answered within the deadline (deadline.ts). One layer where
 * there were two: each layer is a dispatch and an async frame, on a route whose whole budget is microseconds.
 *
 * A request that can change state has its address read here, as it comes in: read later, after its client hung
 * up, the address is unreadable and the request would be refused part-way through its work (client-ip.ts).
 */
export function requestAdmission({ isBlocked, deadlineMs }: RequestAdmissionOptions) {
  const withinDeadline = requestDeadline(deadlineMs);
  return createMiddleware<AppEnv>((c, next) => {
    if (isBlocked?.(c.get("client").ip)) throw new AppError("IP_BLOCKED");
    if (!SAFE_METHODS.has(c.req.method)) c.get("client").readNow();
    return withinDeadline(c, next);
  });
}
