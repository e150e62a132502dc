import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Env } from "./env.ts";

/**
 * AUTH_SECRET when set; otherwise (development only, parseEnv refuses production without one) a secret generated
 * once and kept in DATA_DIR so that sessions and signing keys survive a restart. An in-memory database gets an
 * ephemeral secret: nothing it protects outlives the process.
 */
export async function resolveAuthSecret(env: Env): Promise<string> {
  if (env.AUTH_SECRET !== undefined) return env.AUTH_SECRET;
  if (env.DATABASE_URL === "memory://") return randomBytes(32).toString("base64url");
  const file = path.join(path.resolve(env.DATA_DIR), "auth-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString("base64url");
  // "wx" fails if another process created it meanwhile; then we read theirs.
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return (await readFile(file, "utf8")).trim();
  }
}
