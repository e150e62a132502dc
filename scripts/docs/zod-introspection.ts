import type { z } from "zod";

/**
 * What a setting's schema says about itself, read through the wrappers zod puts around it (default, optional,
 * pipe, transform). zod 4 keeps a `.describe()` text on the schema it was called on only, so the text may sit on any
 * layer: the outermost one that has it wins.
 */
export type SettingFacts = {
  description: string | undefined;
  /** undefined: no default (the setting is optional, or required). */
  defaultValue: unknown;
  allowed: string | undefined;
};

type Def = {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string>;
  values?: unknown[];
  defaultValue?: unknown;
  format?: string;
  checks?: Check[];
};

type Check = { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } };

const defOf = (schema: z.ZodType) => (schema as unknown as { def: Def }).def;

/** The schemas a wrapper wraps, outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const found: z.ZodType[] = [];
  let current: z.ZodType | undefined = schema;
  while (current !== undefined) {
    found.push(current);
    const def = defOf(current);
    current = def.type === "pipe" ? (def.in ?? undefined) : def.innerType;
  }
  return found;
}

export function inspectSetting(schema: z.ZodType): SettingFacts {
  const all = layers(schema);
  const description = all.map((layer) => layer.description).find((text) => text !== undefined);
  const withDefault = all.find((layer) => defOf(layer).type === "default");
  return {
    description,
    defaultValue: withDefault === undefined ? undefined : defOf(withDefault).defaultValue,
    allowed: allowedValues(schema),
  };
}

/** A short rendering of what the schema accepts, or undefined when only the description can say it. */
function allowedValues(schema: z.ZodType): string | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case "default":
    case "optional":
      return def.innerType === undefined ? undefined : allowedValues(def.innerType);
    case "pipe":
      // A pipe's input side is what the variable may hold; a string piped into an enum (flags) is the enum's.
      return (def.in && allowedValues(def.in)) ?? (def.out && allowedValues(def.out));
    case "enum":
      // Object keys that look like integers come first in JS; words read better before their digit aliases.
      return Object.values(def.entries ?? {})
        .sort((a, b) => Number(/^\d+$/.test(a)) - Number(/^\d+$/.test(b)))
        .map((value) => `\`${value}\``)
        .join(", ");
    case "literal":
      return (def.values ?? []).map((value) => `\`${String(value)}\``).join(", ");
    case "union":
      return (def.options ?? []).map(allowedValues).filter(Boolean).join(" or ") || undefined;
    case "number":
      return numberRange(def.checks ?? []);
    case "string":
      return def.format === "url" ? "http(s) URL" : undefined;
    default:
      return undefined;
  }
}

/** "integer 1 to 65535" from a number schema's checks (int, min/max, positive, ...). */
function numberRange(checks: Check[]): string {
  const defs = checks.map((check) => check._zod.def);
  const isInt = defs.some((def) => def.check === "number_format" && (def.format === "safeint" || def.format === "int32"));
  const step = isInt ? 1 : 0;
  let min: number | undefined;
  let max: number | undefined;
  for (const def of defs) {
    if (def.value === undefined) continue;
    if (def.check === "greater_than") min = def.inclusive ? def.value : def.value + step;
    if (def.check === "less_than") max = def.inclusive ? def.value : def.value - step;
  }
  const kind = isInt ? "integer" : "number";
  if (min !== undefined && max !== undefined) return `${kind} ${min} to ${max}`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}
