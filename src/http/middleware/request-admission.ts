import { createMiddleware } from "hono/factory";
import { AppError } from "../../errors.ts";
import type { AppEnv } from "../app-env.ts";
import { requestDeadline } from "./deadline.ts";

export type RequestAdmissionOptions = {
  /** BLOCKLIST_CIDRS. */
  isBlocked: (ip: string | null) => boolean;
  /** REQUEST_DEADLINE_MS. */
  deadlineMs: number;
};

/**
 * Whether a request is served, and for how long it may take: an address on the blocklist is refused before any
 * other work is done for it; any other request is answered within the deadline (deadline.ts). One layer where
 * there were two: each layer is a dispatch and an async frame, on a route whose whole budget is microseconds.
 */
export function requestAdmission({ isBlocked, deadlineMs }: RequestAdmissionOptions) {
  const withinDeadline = requestDeadline(deadlineMs);
  return createMiddleware<AppEnv>((c, next) => {
    if (isBlocked(c.get("clientIp"))) throw new AppError("IP_BLOCKED");
    return withinDeadline(c, next);
  });
}
