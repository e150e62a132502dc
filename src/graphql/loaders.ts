import DataLoader from "dataloader";
import type { SessionService } from "../sessions/session-service.ts";
import type { Loaders } from "./context.ts";

/**
 * One request's loaders. Fields that resolve on the same tick are batched: a page of users asking for their
 * sessions is one query (sessions.listForUsers), not one per user. Per request, so nothing is cached across
 * callers or kept after a revocation.
 */
export function createLoaders(sessions: Pick<SessionService, "listForUsers">): Loaders {
  return {
    sessionsOfUser: new DataLoader(async (userIds) => {
      const byUser = await sessions.listForUsers(userIds);
      return userIds.map((userId) => byUser.get(userId) ?? []);
    }),
  };
}
