import type { Context } from "hono";
import { headersFor, type LimitState, type Limiter, type RateLimitRefusal } from "../abuse/limiter.ts";
import { KEYED_BY_ADDRESS, type RuleName } from "../abuse/rules.ts";
import { AppError } from "../errors.ts";
import type { AttemptLimits } from "../flows/sign-in-flow.ts";
import type { AuditLog } from "../observability/audit.ts";
import type { AppEnv, Authentication } from "./app-env.ts";
import { recordingAuditContext } from "./audit-context.ts";

/** What consuming a rule that is off answers: nothing to wait for. */
const ALREADY_DONE: Promise<void> = Promise.resolve();

/**
 * The limiter as handlers use it: subjects come from the request, the tightest rule's state is advertised in
 * RateLimit headers (not a rule keyed by an address: see KEYED_BY_ADDRESS), and the first refusal of each window
 * goes to the audit log (later ones would only flood it).
 * A subject that is unknown (null: an audit context with no request behind it, the CLI's) is not counted rather
 * than lumped into one shared "unknown" bucket.
 */
export function createRequestLimits(limiter: Limiter, audit: AuditLog) {
  async function guarded(c: Context<AppEnv>, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      const refusal = error instanceof AppError && error.code === "RATE_LIMITED" ? (error.cause as RateLimitRefusal) : null;
      if (refusal?.firstInWindow) {
        const type = refusal.rule === "loginAccount" ? "account.locked" : "rate_limit.exceeded";
        await audit.record(type, { userId: (c.get("auth") as Authentication | undefined)?.user.id ?? null, payload: { rule: refusal.rule } }, recordingAuditContext(c));
      }
      throw error;
    }
  }

  function advertise(c: Context<AppEnv>, state: LimitState) {
    const current = c.get("rateLimit");
    if (current !== undefined && current.remaining <= state.remaining) return;
    c.set("rateLimit", state);
    for (const [name, value] of Object.entries(headersFor(state))) c.header(name, value);
  }

  const limits = {
    // An off rule (RATE_LIMIT_AUTHENTICATED_SESSION by default, checked on every authenticated request) costs no
    // async frames at all.
    consume: (c: Context<AppEnv>, name: RuleName, subject: string | null, weight = 1): Promise<void> =>
      !limiter.applies(name) ? ALREADY_DONE : guarded(c, async () => {
        if (subject === null) return;
        const state = await limiter.consume(name, subject, weight);
        if (state !== null && !KEYED_BY_ADDRESS.has(name)) advertise(c, state);
      }),
    /** limiter.consumeInOrder; a rule whose subject is unknown (null) is left out, as consume and assertBelow do. */
    consumeInOrder: (c: Context<AppEnv>, steps: ReadonlyArray<{ name: RuleName; subject: string | null; peek?: boolean }>) =>
      guarded(c, async () => {
        const known = steps.flatMap(({ subject, ...step }) => (subject === null ? [] : [{ ...step, subject }]));
        for (const { name, state } of await limiter.consumeInOrder(known)) if (!KEYED_BY_ADDRESS.has(name)) advertise(c, state);
      }),
    assertBelow: (c: Context<AppEnv>, name: RuleName, subject: string | null) =>
      guarded(c, async () => {
        if (subject !== null) await limiter.assertBelow(name, subject);
      }),
    countDistinct: (c: Context<AppEnv>, name: RuleName, subject: string | null, member: string) =>
      guarded(c, async () => {
        if (subject !== null) await limiter.countDistinct(name, subject, member);
      }),
    reset: (name: RuleName, subject: string) => limiter.reset(name, subject),
    refund: (name: RuleName, subject: string) => limiter.refund(name, subject),
  };
  return {
    ...limits,
    /** The limits of one request, for a flow that knows nothing of HTTP (src/flows/sign-in-flow.ts). */
    bind: (c: Context<AppEnv>): AttemptLimits => ({
      consume: (name, subject) => limits.consume(c, name, subject),
      consumeInOrder: (steps) => limits.consumeInOrder(c, steps),
      assertBelow: (name, subject) => limits.assertBelow(c, name, subject),
      countDistinct: (name, subject, member) => limits.countDistinct(c, name, subject, member),
      reset: limits.reset,
      refund: limits.refund,
    }),
  };
}

export type RequestLimits = ReturnType<typeof createRequestLimits>;
