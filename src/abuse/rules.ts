/** A limit: at most `max` hits per `windowSeconds`. */
export type LimitRule = { max: number; windowSeconds: number };

/**
 * What a rule does when its store cannot be reached: `closed` refuses (503; the credential endpoints, where
 * an unlimited attacker is worse than an outage), `open` lets the request through (everything else).
 */
export type FailMode = "closed" | "open";

export const RULE_NAMES = [
  "loginAccount",
  "loginIp",
  "stuffingIp",
  "registerIp",
  "forgotPasswordIp",
  "forgotPasswordEmail",
  "resetPasswordIp",
  "verifyIp",
  "otpSendAddress",
  "otpSendDelay",
  "otpSendIp",
  "otpVerifyAddress",
  "otpVerifyIp",
  "refreshSession",
  "unauthenticatedIp",
  "authenticatedSession",
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

/**
 * Rules counting what anyone does to one address (an account's email): their state is not advertised in RateLimit
 * headers, whose `remaining` would tell a caller how much other people have been trying on that address. A refusal
 * still carries Retry-After.
 */
export const KEYED_BY_ADDRESS: ReadonlySet<RuleName> = new Set<RuleName>([
  "loginAccount",
  "forgotPasswordEmail",
  "otpSendAddress",
  "otpSendDelay",
  "otpVerifyAddress",
]);

/** null: the rule is off. */
export type RateLimitRules = Record<RuleName, LimitRule | null>;

export const FAIL_MODES: Record<RuleName, FailMode> = {
  loginAccount: "closed",
  loginIp: "closed",
  stuffingIp: "closed",
  registerIp: "closed",
  forgotPasswordIp: "closed",
  forgotPasswordEmail: "closed",
  resetPasswordIp: "closed",
  verifyIp: "closed",
  otpSendAddress: "closed",
  otpSendDelay: "closed",
  otpSendIp: "closed",
  otpVerifyAddress: "closed",
  otpVerifyIp: "closed",
  refreshSession: "open",
  unauthenticatedIp: "open",
  authenticatedSession: "open",
};

const minutes = (n: number) => n * 60;

/** The defaults of issue 7; each can be changed with RATE_LIMIT_<RULE> ("max/windowSeconds", or "off"). */
export const DEFAULT_RULES: RateLimitRules = {
  loginAccount: { max: 10, windowSeconds: minutes(15) },
  loginIp: { max: 100, windowSeconds: minutes(15) },
  stuffingIp: { max: 20, windowSeconds: minutes(15) },
  registerIp: { max: 5, windowSeconds: minutes(60) },
  forgotPasswordIp: { max: 5, windowSeconds: minutes(15) },
  forgotPasswordEmail: { max: 5, windowSeconds: minutes(15) },
  resetPasswordIp: { max: 10, windowSeconds: minutes(15) },
  verifyIp: { max: 10, windowSeconds: minutes(15) },
  // Every create and resend that may mail a code counts, per target address and per client address.
  otpSendAddress: { max: 10, windowSeconds: minutes(15) },
  // One code per address per OTP_RESEND_DELAY, across challenges: a new challenge is no way around the delay.
  // Its default follows OTP_RESEND_DELAY (see env.ts); this is the value for the default delay.
  otpSendDelay: { max: 1, windowSeconds: 30 },
  otpSendIp: { max: 30, windowSeconds: minutes(15) },
  // Wrong codes per address across challenges: without it every new challenge would bring OTP_MAX_ATTEMPTS more guesses.
  otpVerifyAddress: { max: 10, windowSeconds: minutes(15) },
  otpVerifyIp: { max: 60, windowSeconds: minutes(15) },
  refreshSession: { max: 60, windowSeconds: minutes(1) },
  unauthenticatedIp: { max: 300, windowSeconds: minutes(1) },
  // Off by default: an app's backend calls GET /auth/me at high rates from few addresses.
  authenticatedSession: null,
};

/** RATE_LIMIT_LOGIN_ACCOUNT etc. */
export const ruleVariable = (name: RuleName) => `RATE_LIMIT_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** "10/900" -> 10 per 900 s; "off" -> null; anything else -> undefined (invalid). */
export function parseRule(value: string): LimitRule | null | undefined {
  if (value.trim().toLowerCase() === "off") return null;
  const match = /^\s*(\d{1,7})\s*\/\s*(\d{1,7})\s*$/.exec(value);
  if (!match) return undefined;
  const [max, windowSeconds] = [Number(match[1]), Number(match[2])];
  return max >= 1 && windowSeconds >= 1 ? { max, windowSeconds } : undefined;
}
