import { z } from "zod";
import { parseCidr } from "../../abuse/blocklist.ts";
import { DEFAULT_RULES, parseRule, RULE_DESCRIPTIONS, type RateLimitRules, RULE_NAMES, ruleVariable } from "../../abuse/rules.ts";

/** RATE_LIMIT_LOGIN_ACCOUNT="10/900" (max per window seconds) or "off", one variable per rule. */
export const rateLimitVariables = z.object(
  Object.fromEntries(
    RULE_NAMES.map((name) => [
      ruleVariable(name),
      z.string().optional().describe(`${RULE_DESCRIPTIONS[name]} "max/windowSeconds" or "off".`),
    ]),
  ),
);

export const rateLimitRules = rateLimitVariables.transform((values, ctx) => {
    const rules: RateLimitRules = { ...DEFAULT_RULES };
    for (const name of RULE_NAMES) {
      const raw = values[ruleVariable(name)];
      if (raw === undefined) continue;
      const rule = parseRule(raw);
      if (rule === undefined) ctx.addIssue({ code: "custom", path: [ruleVariable(name)], message: 'must be "max/windowSeconds" (e.g. 10/900) or "off"' });
      else rules[name] = rule;
    }
    return rules;
  });

export const abuseSchema = z.object({
  RATE_LIMIT_STORE: z
    .enum(["auto", "memory", "postgres", "redis"])
    .default("auto")
    .describe(
      "Where rate-limit counters live. auto: Redis when REDIS_URL is set, else the PostgreSQL server, else (embedded database) memory. memory counts per process and is refused with WORKERS above 1; redis needs REDIS_URL.",
    ),
  BLOCKLIST_CIDRS: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const cidrs = value.split(",").map((part) => part.trim()).filter(Boolean);
      for (const cidr of cidrs) if (parseCidr(cidr) === null) ctx.addIssue({ code: "custom", message: `"${cidr}" is not a CIDR like 203.0.113.0/24` });
      return cidrs;
    })
    .describe("Comma-separated CIDRs (IPv4 and IPv6, e.g. 203.0.113.0/24) whose requests are answered 403 IP_BLOCKED before any other work."),
});

/** The spacing of codes to one address follows OTP_RESEND_DELAY unless RATE_LIMIT_OTP_SEND_DELAY says otherwise. */
export function withDerivedRules(rules: RateLimitRules, base: { OTP_RESEND_DELAY: number }, present: Record<string, string | undefined>): RateLimitRules {
  if (present[ruleVariable("otpSendDelay")] !== undefined) return rules;
  return { ...rules, otpSendDelay: base.OTP_RESEND_DELAY > 0 ? { max: 1, windowSeconds: base.OTP_RESEND_DELAY } : null };
}
