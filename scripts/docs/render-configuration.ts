import { DEFAULT_RULES, FAIL_MODES, KEYED_BY_ADDRESS, RULE_DESCRIPTIONS, RULE_NAMES, ruleVariable } from "../../src/abuse/rules.ts";
import { ENV_VARIABLES } from "../../src/config/env.ts";
import { inspectSetting } from "./zod-introspection.ts";

/**
 * The areas of docs/configuration.md, in reading order. A variable is placed by its name, else by its prefix; one
 * that matches neither lands in "Other settings" (and the generator warns), so a new setting is never left out.
 */
const AREAS: { title: string; names?: string[]; prefixes?: string[] }[] = [
  { title: "Server", names: ["NODE_ENV", "PORT", "HOST", "APP_URL", "WORKERS", "TRUST_PROXY", "LOG_LEVEL", "REQUEST_DEADLINE_MS"], prefixes: ["HTTP_"] },
  { title: "Secrets and data", names: ["AUTH_SECRET", "AUTH_SECRET_FILE", "DATA_DIR", "DATABASE_URL", "EMBEDDED_DATABASE_THREAD"], prefixes: ["DATABASE_"] },
  { title: "Browsers", names: ["CORS_ORIGINS"], prefixes: ["COOKIE_"] },
  {
    title: "Tokens and sessions",
    names: ["ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "SESSION_MAX_AGE", "JWT_AUDIENCE", "SESSION_ACTIVITY_RESOLUTION", "REFRESH_GRACE_SECONDS", "MAX_SESSIONS_PER_USER", "STEP_UP_MAX_AGE"],
  },
  { title: "Several instances", names: ["REDIS_URL", "REVOCATION_HEARTBEAT_MS"] },
  { title: "Mail", names: ["SMTP_URL"], prefixes: ["MAIL_", "SMTP_"] },
  { title: "Durable delivery and webhooks", prefixes: ["OUTBOX_", "WEBHOOK_"] },
  { title: "Links in mail", names: ["PUBLIC_UI_URL", "VERIFY_EMAIL_UI_URL", "RESET_PASSWORD_UI_URL", "CANCEL_DELETION_UI_URL"] },
  {
    title: "Accounts",
    names: ["RESET_TOKEN_TTL", "VERIFY_TOKEN_TTL", "REQUIRE_EMAIL_VERIFICATION", "ACCOUNT_DELETION_GRACE", "DELETION_SWEEP_INTERVAL", "AUDIT_RETENTION_DAYS"],
  },
  { title: "Administration", names: ["IMPERSONATION_TTL", "ADMIN_MFA_REQUIRED", "AUDIT_SHOW_ADMIN"] },
  { title: "API keys and machine clients", names: ["API_KEYS_PER_USER"], prefixes: ["API_KEY_", "MACHINE_"] },
  { title: "Passwords", prefixes: ["PASSWORD_", "HIBP_"] },
  { title: "One-time codes", prefixes: ["OTP_"] },
  { title: "Second factors", prefixes: ["MFA_"] },
  { title: "Passkeys", prefixes: ["WEBAUTHN_"] },
  { title: "Abuse protection", names: ["RATE_LIMIT_STORE", "BLOCKLIST_CIDRS"] },
  { title: "Metrics", prefixes: ["METRICS_"] },
  { title: "GraphQL", prefixes: ["GRAPHQL_"] },
  { title: "Social login", prefixes: ["OAUTH_"] },
];

const RULE_VARIABLES = new Set(RULE_NAMES.map(ruleVariable));

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function renderDefault(value: unknown): string {
  if (value === undefined) return "unset";
  if (value === "") return "empty";
  return `\`${String(value)}\``;
}

export type Placement = { area: string; names: string[] };

/** Which area each (non rate-limit) variable belongs to; `unplaced` are the ones only "Other settings" took. */
export function placeVariables(names: string[]): { areas: Placement[]; unplaced: string[] } {
  const remaining = new Set(names);
  const areas = AREAS.map((area) => ({ area: area.title, names: [] as string[] }));
  AREAS.forEach((area, index) => {
    for (const name of area.names ?? []) if (remaining.delete(name)) areas[index]!.names.push(name);
  });
  AREAS.forEach((area, index) => {
    for (const name of [...remaining]) {
      if ((area.prefixes ?? []).some((prefix) => name.startsWith(prefix))) {
        remaining.delete(name);
        areas[index]!.names.push(name);
      }
    }
  });
  const unplaced = [...remaining];
  if (unplaced.length > 0) areas.push({ area: "Other settings", names: unplaced });
  return { areas: areas.filter((area) => area.names.length > 0), unplaced };
}

function renderRateLimits(): string {
  const rows = RULE_NAMES.map((name) => {
    const variable = ruleVariable(name);
    const rule = DEFAULT_RULES[name];
    // Its default follows OTP_RESEND_DELAY (env.ts); DEFAULT_RULES holds the value for the default delay.
    const fallback = name === "otpSendDelay" ? "`1/OTP_RESEND_DELAY`" : rule === null ? "`off`" : `\`${rule.max}/${rule.windowSeconds}\``;
    const store = FAIL_MODES[name] === "closed" ? "refuses (503)" : "lets through";
    const advertised = KEYED_BY_ADDRESS.has(name) ? "no" : "yes";
    return `| \`${variable}\` | ${fallback} | ${cell(RULE_DESCRIPTIONS[name])} | ${store} | ${advertised} |`;
  });
  return [
    "### Rate limits",
    "",
    "Each rule is one variable, `RATE_LIMIT_<RULE>=max/windowSeconds` (e.g. `10/900`: 10 per 15 minutes) or `off`.",
    "A refusal answers 429 `RATE_LIMITED` with `Retry-After`. \"Store down\" is what the rule does while its counter",
    "store (`RATE_LIMIT_STORE`) cannot be reached. \"Advertised\": whether answers carry the rule's state in the",
    "`RateLimit` / `RateLimit-Policy` headers; rules keyed by an address are not, since their remaining count would tell",
    "a caller how much others have been trying on that address.",
    "",
    "| variable | default | counts | store down | advertised |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function renderArea(area: Placement): string {
  const rows = area.names.map((name) => {
    const facts = inspectSetting(ENV_VARIABLES[name]!);
    return `| \`${name}\` | ${renderDefault(facts.defaultValue)} | ${cell(facts.allowed ?? "text")} | ${cell(facts.description ?? "")} |`;
  });
  return [`## ${area.area}`, "", "| variable | default | allowed | description |", "|---|---|---|---|", ...rows].join("\n");
}

/** docs/configuration.md, rendered from src/config/env.ts and src/abuse/rules.ts. */
export function renderConfiguration(): { markdown: string; unplaced: string[] } {
  const names = Object.keys(ENV_VARIABLES).filter((name) => !RULE_VARIABLES.has(name));
  const { areas, unplaced } = placeVariables(names);
  const sections = areas.map((area) => {
    const rendered = renderArea(area);
    return area.area === "Abuse protection" ? `${rendered}\n\n${renderRateLimits()}` : rendered;
  });
  const markdown = [
    "<!-- Generated by `npm run docs:generate` from src/config/env.ts (its areas in src/config/env/) and src/abuse/rules.ts: edit those, not this file. -->",
    "",
    "# Configuration reference",
    "",
    "Servauth reads its configuration from environment variables only, validated when it starts. An empty value counts",
    "as unset. If any value is bad, the process prints one line naming every bad variable (no stack trace, no secret",
    "values) and exits with code 1. `npx servauth config check` validates the environment the same way and prints the",
    "effective configuration, with secrets redacted. Durations are whole seconds unless the name ends in `_MS`.",
    "",
    "`NODE_ENV=production` requires `AUTH_SECRET` (or `AUTH_SECRET_FILE`) and `APP_URL`. With several server processes (`WORKERS` above 1) the",
    "database must be PostgreSQL and `RATE_LIMIT_STORE` must not be `memory`.",
    "",
    sections.join("\n\n"),
    "",
  ].join("\n");
  return { markdown, unplaced };
}
