import { z } from "zod";

/** Schemas several settings share. */

export const seconds = (fallback: number) => z.coerce.number().int().positive().max(10 * 365 * 86_400).default(fallback);

export const originList = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const origins: string[] = [];
    for (const item of value.split(",").map((part) => part.trim()).filter(Boolean)) {
      const origin = URL.canParse(item) ? new URL(item).origin : "null";
      if (origin === "null") ctx.addIssue({ code: "custom", message: `"${item}" is not an origin like https://app.example.com` });
      else origins.push(origin);
    }
    return origins;
  });

/** true/false (or 1/0, any case); z.coerce.boolean would read "false" as true. */
export const flag = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(["true", "false", "1", "0"], { message: "must be true or false" }))
    .transform((value) => value === "true" || value === "1")
    .default(fallback);

export const databaseUrl = z
  .string()
  .trim()
  .refine((value) => value === "memory://" || (/^postgres(ql)?:\/\//.test(value) && URL.canParse(value)), {
    message: "must be postgres://user:password@host:port/database or memory://",
  })
  .optional();

/** Scheme, user info, host and port: what decides where a request for the URL goes. */
const authorityOf = (value: string) => {
  const url = new URL(value);
  return `${url.protocol}//${url.username}:${url.password}@${url.host}`;
};

/** A URL with "{token}" where the mailed token goes, e.g. https://app.example.com/reset?token={token}. */
export const linkTemplate = z
  .string()
  .trim()
  .refine((value) => value.split("{token}").length === 2, { message: 'must contain "{token}" once, where the token goes' })
  .refine((value) => URL.canParse(value.replace("{token}", "t")) && /^https?:$/.test(new URL(value.replace("{token}", "t")).protocol), {
    message: "must be an http(s) URL, e.g. https://app.example.com/reset-password?token={token}",
  })
  // In the host or user info, the token would leave in a DNS lookup or reach another server.
  .refine((value) => !URL.canParse(value.replace("{token}", "t")) || authorityOf(value.replace("{token}", "a")) === authorityOf(value.replace("{token}", "b")), {
    message: '"{token}" must be in the path, query or fragment, not in the host',
  })
  .optional();
