/**
 * A minimal Better-Auth app, as its documentation sets one up with Hono, on Bun.serve with bench/bare-server.ts's
 * options: email and password, the handler mounted on /api/auth/*, everything else Better-Auth's defaults. What
 * bench/better-auth-side-by-side.ts measures GET /api/auth/get-session on, and GET /session: an app's own route that
 * reads the session with `auth.api.getSession`, as the middleware of Better-Auth's Hono guide does on every request
 * (Better-Auth's `auth.handler` builds its router again for each request, better-auth/dist/auth/base.mjs in 1.7.25;
 * `auth.api` does not go through the router, so neither through its origin check and rate limit).
 *
 *   BA_DATABASE=memory|pglite [DATA_DIR=<dir>] [BA_COOKIE_CACHE=on] BETTER_AUTH_SECRET=... BETTER_AUTH_URL=... \
 *   PORT=4000 HOST=127.0.0.1 bun bench/better-auth-server.ts
 *
 * Two departures from the defaults, both as in `npm run bench` for Servauth: NODE_ENV=production (set by the caller),
 * and the rate limit, which production turns on at 100 requests per 10 s per address and path, raised far above the
 * load instead of turned off, so its store is still consulted on every request.
 */
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { Hono } from "hono";

async function database() {
  if (process.env.BA_DATABASE === "memory") return memoryAdapter({ user: [], session: [], account: [], verification: [] });
  if (process.env.BA_DATABASE !== "pglite" || !process.env.DATA_DIR) throw new Error("BA_DATABASE=memory, or BA_DATABASE=pglite with DATA_DIR");
  // PGlite on disk, as Servauth's embedded database is: Better-Auth has no PGlite support of its own, so a user
  // takes Drizzle's PGlite driver and Better-Auth's Drizzle adapter, and creates the tables with the SQL drizzle-kit
  // generates (as `drizzle-kit generate` would write it into a first migration). Imported here, so that the memory
  // adapter's server does not load them.
  const [{ PGlite }, { drizzleAdapter }, { drizzle }, { generateDrizzleJson, generateMigration }, schema] = await Promise.all([
    import("@electric-sql/pglite"),
    import("better-auth/adapters/drizzle"),
    import("drizzle-orm/pglite"),
    import("drizzle-kit/api"),
    import("./better-auth-schema.ts"),
  ]);
  const db = drizzle(new PGlite(process.env.DATA_DIR), { schema });
  for (const statement of await generateMigration(generateDrizzleJson({}), generateDrizzleJson(schema))) await db.execute(statement);
  return drizzleAdapter(db, { provider: "pg" });
}

const auth = betterAuth({
  database: await database(),
  emailAndPassword: { enabled: true },
  rateLimit: { max: 1_000_000 },
  ...(process.env.BA_COOKIE_CACHE === "on" ? { session: { cookieCache: { enabled: true } } } : {}),
});

const app = new Hono();
app.on(["POST", "GET"], "/api/auth/*", (c) => auth.handler(c.req.raw));
app.get("/session", async (c) => c.json(await auth.api.getSession({ headers: c.req.raw.headers })));

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  idleTimeout: 30,
  fetch: app.fetch,
});
console.log(`better-auth (${process.env.BA_DATABASE}) listening on ${server.url}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
