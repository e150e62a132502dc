import type { Context } from "hono";
import { deleteCookie, generateCookie, getCookie, setCookie } from "hono/cookie";
import type { AppConfig } from "../config/config.ts";
import type { AppEnv } from "./app-env.ts";

type CookieConfig = AppConfig["cookies"];

/**
 * The browser's two cookies. Both HttpOnly and SameSite=Lax; Secure with the __Host-/__Secure- prefixes in
 * production. The refresh cookie is sent only under /auth, where /auth/refresh reads it (and logout clears it).
 */
export function createCookieJar(config: CookieConfig) {
  const base = { httpOnly: true, secure: config.secure, sameSite: "Lax" as const };
  const session = { ...base, path: "/" };
  const refresh = { ...base, path: config.refreshPath };
  return {
    names: [config.sessionName, config.refreshName],
    /** Asked by the unauthenticated-request guard and again by authenticate: the Cookie header is parsed once. */
    readSession(c: Context<AppEnv>): string | undefined {
      let value = c.get("sessionCookie");
      if (value === undefined) {
        value = getCookie(c, config.sessionName) ?? null;
        c.set("sessionCookie", value);
      }
      return value ?? undefined;
    },
    readRefresh: (c: Context) => getCookie(c, config.refreshName),
    /** Cookie lifetime is the session's hard cap; the server enforces the shorter idle expiry itself. */
    set(c: Context, tokens: { sessionToken?: string; refreshToken: string }, expiresAt: Date) {
      const maxAge = Math.max(Math.floor((expiresAt.getTime() - Date.now()) / 1000), 0);
      if (tokens.sessionToken !== undefined) setCookie(c, config.sessionName, tokens.sessionToken, { ...session, maxAge });
      setCookie(c, config.refreshName, tokens.refreshToken, { ...refresh, maxAge });
    },
    clear(c: Context) {
      deleteCookie(c, config.sessionName, session);
      deleteCookie(c, config.refreshName, refresh);
    },
  };
}

export type CookieJar = ReturnType<typeof createCookieJar>;

/**
 * The one-time-code challenge cookie: HttpOnly, SameSite=Strict, Path=/ (and Secure with the __Host- prefix in
 * production). Its value is the sealed challenge; it lives as long as the challenge. Written as header values so
 * error answers (a wrong code carries the next state) can set it too.
 */
export function createOtpCookie(name: string, secure: boolean) {
  const options = { httpOnly: true, secure, sameSite: "Strict" as const, path: "/" };
  return {
    name,
    /** The challenge of a request: the body's (API clients), else the cookie's (browsers). */
    presented: (c: Context, fromBody: string | undefined) => fromBody ?? getCookie(c, name),
    serialize: (value: string, expiresAt: Date) =>
      generateCookie(name, value, { ...options, maxAge: Math.max(Math.ceil((expiresAt.getTime() - Date.now()) / 1000), 1) }),
    cleared: () => generateCookie(name, "", { ...options, maxAge: 0 }),
  };
}

export type OtpCookie = ReturnType<typeof createOtpCookie>;
