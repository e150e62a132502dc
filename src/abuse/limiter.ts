import { hash } from "node:crypto";
import { AppError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { type OrderedCounts, type OrderedStep, pastLimit, type RateLimitStore, type WindowCount } from "./rate-limit-store.ts";
import { FAIL_MODES, KEYED_BY_ADDRESS, type LimitRule, type RateLimitRules, RULE_REFUSALS, type RuleName } from "./rules.ts";

/** The cause of a RATE_LIMITED error: which rule, and whether this is the window's first refusal (for audit). */
export type RateLimitRefusal = { rule: RuleName; firstInWindow: boolean };

/** What a limited response advertises (draft-ietf-httpapi-ratelimit-headers, the "RateLimit" field of draft 7). */
export type LimitState = { rule: LimitRule; remaining: number; resetAt: number };

/** One rule of `consumeInOrder`: counted as `consume` does, or with `peek` only checked as `assertBelow` does. */
export type RuleStep = { name: RuleName; subject: string; peek?: boolean };

export type Limiter = ReturnType<typeof createLimiter>;

/**
 * Applies the rules over a store. Subjects (emails, IPs, session ids) are hashed into keys, so a store dump
 * lists no addresses. A store failure follows the rule's fail mode: closed answers 503 with Retry-After, open
 * lets the request pass; either way it is logged.
 */
export function createLimiter(store: RateLimitStore, rules: RateLimitRules, logger: Logger) {
  const keyOf = (name: RuleName, subject: string) =>
    `${name}:${hash("sha256", subject.toLowerCase(), "base64url").slice(0, 22)}`;

  function unavailable(name: RuleName, error: unknown): null {
    logger.error({ err: error, rule: name }, `rate-limit store unavailable; failing ${FAIL_MODES[name]}`);
    if (FAIL_MODES[name] === "closed") throw new AppError("DEPENDENCY_UNAVAILABLE", { retryAfterSeconds: 5 });
    return null;
  }

  function refuse(name: RuleName, rule: LimitRule, window: WindowCount, weight = 1): never {
    const retryAfter = Math.max(Math.ceil((window.resetAt - Date.now()) / 1000), 1);
    // The hit that crossed the limit: the count before it was still within.
    const firstInWindow = window.count - weight <= rule.max;
    if (firstInWindow) logger.warn({ rule: name }, "rate limit reached");
    const limit = KEYED_BY_ADDRESS.has(name) ? "" : ` (at most ${rule.max} per ${describeWindow(rule.windowSeconds)})`;
    throw new AppError("RATE_LIMITED", {
      message: `${RULE_REFUSALS[name]}${limit}; try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}`,
      retryAfterSeconds: retryAfter,
      rateLimit: { rule, remaining: 0, resetAt: window.resetAt },
      cause: { rule: name, firstInWindow } satisfies RateLimitRefusal,
    });
  }

  /**
   * Counts a hit of `weight` (1 for a request; a budget of units, such as GraphQL cost, counts the units spent);
   * RATE_LIMITED past the limit. Returns the state for the response headers (null: rule off).
   */
  async function consume(name: RuleName, subject: string, weight = 1): Promise<LimitState | null> {
    const rule = rules[name];
    if (rule === null) return null;
    let window: WindowCount;
    try {
      window = await store.hit(keyOf(name, subject), rule.windowSeconds * 1000, weight);
    } catch (error) {
      return unavailable(name, error);
    }
    if (window.count > rule.max) refuse(name, rule, window, weight);
    return stateOf(rule, window);
  }

  /**
   * consume() and assertBelow() for several rules in order, in one store round trip: a rule is counted (or read)
   * only while every rule before it is within its limit, so an attempt refused by one is counted by none after it
   * (an address over its login limit does not lock anybody's account). RATE_LIMITED for the first rule past its
   * limit; otherwise the state of each rule counted, for the response headers. Rules that are off are left out. A
   * store failure fails closed if any of the rules does.
   */
  async function consumeInOrder(steps: readonly RuleStep[]): Promise<Array<{ name: RuleName; state: LimitState }>> {
    const active = steps.flatMap((step) => {
      const rule = rules[step.name];
      return rule === null ? [] : [{ ...step, rule, ordered: { key: keyOf(step.name, step.subject), windowMs: rule.windowSeconds * 1000, max: rule.max, peek: step.peek } satisfies OrderedStep }];
    });
    if (active.length === 0) return [];
    let seen: OrderedCounts;
    try {
      seen = await store.hitInOrder(active.map((step) => step.ordered));
      // A store stops early only after a step past its limit (refused below): an answer cut short anywhere else
      // would leave the rules after it uncounted (a login without its account's lockout), so it counts as failed.
      const last = seen.length - 1;
      if (seen.length < active.length && (last < 0 || !pastLimit(active[last]!.ordered, seen[last]!.count))) {
        throw new Error(`the rate-limit store answered ${seen.length} of ${active.length} steps`);
      }
    } catch (error) {
      for (const step of active) unavailable(step.name, error);
      return [];
    }
    const states: Array<{ name: RuleName; state: LimitState }> = [];
    seen.forEach(({ count, resetAt }, i) => {
      const { name, rule, ordered } = active[i]!;
      const window = { count, resetAt: resetAt ?? Date.now() + ordered.windowMs };
      if (pastLimit(ordered, count)) refuse(name, rule, window);
      if (ordered.peek !== true) states.push({ name, state: stateOf(rule, window) });
    });
    return states;
  }

  return {
    consume,
    consumeInOrder,

    /** Whether the rule is on: an off rule is never counted, so a caller on the hot path may skip the call. */
    applies: (name: RuleName): boolean => rules[name] !== null,

    /** RATE_LIMITED if the subject is already at the limit, without counting (checks before costly work). */
    async assertBelow(name: RuleName, subject: string): Promise<void> {
      const rule = rules[name];
      if (rule === null) return;
      let count: number;
      try {
        count = await store.peek(keyOf(name, subject));
      } catch (error) {
        unavailable(name, error);
        return;
      }
      if (count >= rule.max) refuse(name, rule, { count, resetAt: Date.now() + rule.windowSeconds * 1000 });
    },

    /**
     * Counts `member` towards the subject's number of distinct members in the window (e.g. how many different
     * accounts one IP failed against); RATE_LIMITED past the limit.
     */
    async countDistinct(name: RuleName, subject: string, member: string): Promise<void> {
      const rule = rules[name];
      if (rule === null) return;
      let first: boolean;
      try {
        first = (await store.hit(keyOf(name, `${subject}\u0000${member}`), rule.windowSeconds * 1000)).count === 1;
      } catch (error) {
        unavailable(name, error);
        return;
      }
      if (first) await consume(name, subject);
    },

    /**
     * Takes back one hit of `consume` for an attempt that turned out not to count (a replayed code, a secret that
     * cannot be checked): limits counted before the check stay exact. A store failure is logged: the hit stays
     * counted, which only errs on the safe side.
     */
    async refund(name: RuleName, subject: string): Promise<void> {
      if (rules[name] === null) return;
      try {
        await store.decrement(keyOf(name, subject));
      } catch (error) {
        logger.error({ err: error, rule: name }, "rate-limit hit not given back");
      }
    },

    /** Forgets the subject's count; a store failure is thrown (`servauth users unlock` must say it failed). */
    async clear(name: RuleName, subject: string): Promise<void> {
      await store.reset(keyOf(name, subject));
    },

    /** Forgets the subject's count after a successful login; a store failure is logged, never fails the login. */
    async reset(name: RuleName, subject: string): Promise<void> {
      try {
        await store.reset(keyOf(name, subject));
      } catch (error) {
        logger.error({ err: error, rule: name }, "rate-limit counter not reset");
      }
    },
  };
}

/** What a rule's window, once counted, leaves to advertise. */
const stateOf = (rule: LimitRule, window: WindowCount): LimitState => ({ rule, remaining: Math.max(rule.max - window.count, 0), resetAt: window.resetAt });

/** `RateLimit: limit=10, remaining=7, reset=840` and `RateLimit-Policy: 10;w=900`. */
export function headersFor(state: LimitState): Record<string, string> {
  const reset = Math.max(Math.ceil((state.resetAt - Date.now()) / 1000), 0);
  return {
    RateLimit: `limit=${state.rule.max}, remaining=${Math.max(state.remaining, 0)}, reset=${reset}`,
    "RateLimit-Policy": `${state.rule.max};w=${state.rule.windowSeconds}`,
  };
}

/** "15 minutes", "1 hour", "30 seconds": a window as a person reads it. */
function describeWindow(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0 ? [seconds / 3600, "hour"] : seconds % 60 === 0 ? [seconds / 60, "minute"] : [seconds, "second"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
