import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { resolveAuthSecret } from "../../src/config/auth-secret.ts";
import { ConfigError, parseEnv } from "../../src/config/env.ts";

const PRODUCTION = { NODE_ENV: "production", APP_URL: "https://auth.example.com", SMTP_URL: "smtp://mail.example.com:587" };

describe("AUTH_SECRET_FILE", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "servauth-auth-secret-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("stands in for AUTH_SECRET in production; neither is refused", () => {
    expect(() => parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: path.join(dir, "secret") })).not.toThrow();
    expect(() => parseEnv(PRODUCTION)).toThrow(ConfigError);
  });

  test("absent, a random secret is generated once, kept with mode 0600 in a directory created 0700, and reused", async () => {
    const file = path.join(dir, "volume", "auth-secret");
    const env = parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: file });
    const first = await resolveAuthSecret(env);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect((await readFile(file, "utf8")).trim()).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await resolveAuthSecret(env)).toBe(first);
    // Another deployment gets its own: there is no default secret.
    expect(await resolveAuthSecret(parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: path.join(dir, "other") }))).not.toBe(first);
  });

  test("instances starting together on one shared file all end up with the same secret, and no stray file", async () => {
    const env = parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: path.join(dir, "auth-secret") });
    const secrets = await Promise.all(Array.from({ length: 8 }, () => resolveAuthSecret(env)));
    expect(new Set(secrets).size).toBe(1);
    expect(await readdir(dir)).toEqual(["auth-secret"]);
  });

  test("an existing private file is read, trailing newline dropped", async () => {
    const file = path.join(dir, "mounted");
    const secret = "s".repeat(40);
    await writeFile(file, `${secret}\n`, { mode: 0o600 });
    expect(await resolveAuthSecret(parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: file }))).toBe(secret);
  });

  test("a file holding a short secret is refused, naming the setting", async () => {
    const file = path.join(dir, "short");
    await writeFile(file, "too-short\n", { mode: 0o600 });
    await expect(resolveAuthSecret(parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: file }))).rejects.toThrow(/AUTH_SECRET_FILE: .*fewer than 32/);
  });

  test("AUTH_SECRET, when set, wins and nothing is written", async () => {
    const file = path.join(dir, "unused");
    const secret = "a".repeat(32);
    expect(await resolveAuthSecret(parseEnv({ ...PRODUCTION, AUTH_SECRET: secret, AUTH_SECRET_FILE: file }))).toBe(secret);
    await expect(stat(file)).rejects.toThrow();
  });

  /** The secret read from `file` as AUTH_SECRET_FILE, or the refusal's message. */
  const resolveFrom = (file: string) =>
    resolveAuthSecret(parseEnv({ ...PRODUCTION, AUTH_SECRET_FILE: file })).catch((error: Error) => error.message);
  const SECRET = "k".repeat(40);

  test("a file other users may write to, or ours readable by them, or not a regular file, is refused naming the setting", async () => {
    const file = path.join(dir, "auth-secret");
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    await chmod(file, 0o644);
    expect(await resolveFrom(file)).toMatch(/AUTH_SECRET_FILE: .*auth-secret may be read or written by other users \(mode 0644\); make it private: chmod 600 /);
    await chmod(file, 0o600);
    expect(await resolveFrom(file)).toBe(SECRET);
    await mkdir(path.join(dir, "a-directory"));
    expect(await resolveFrom(path.join(dir, "a-directory"))).toMatch(/AUTH_SECRET_FILE: .*a-directory is not a regular file/);
  });

  test.runIf(process.getuid?.() === 0)("another user's file (a Docker secret: root's, 0444) may be readable by all, not writable", async () => {
    const file = path.join(dir, "docker-secret");
    await writeFile(file, `${SECRET}\n`, { mode: 0o444 });
    await chown(file, 65534, 65534);
    expect(await resolveFrom(file)).toBe(SECRET);
    await chmod(file, 0o646);
    expect(await resolveFrom(file)).toMatch(/AUTH_SECRET_FILE: .*docker-secret may be written by other users \(mode 0646\); chmod go-w /);
  });

  test("a symbolic link (Kubernetes mounts secrets so) is followed, and its target checked like a file", async () => {
    await mkdir(path.join(dir, "..data"), { mode: 0o755 });
    const target = path.join(dir, "..data", "auth-secret");
    await writeFile(target, `${SECRET}\n`, { mode: 0o600 });
    await symlink(path.join("..data", "auth-secret"), path.join(dir, "auth-secret"));
    expect(await resolveFrom(path.join(dir, "auth-secret"))).toBe(SECRET);
    await chmod(target, 0o666);
    expect(await resolveFrom(path.join(dir, "auth-secret"))).toMatch(/AUTH_SECRET_FILE: .* may be (read or )?written by other users/);
  });

  test("a directory any user may write to is refused, unless sticky like /tmp", async () => {
    const open = path.join(dir, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    const file = path.join(open, "auth-secret");
    expect(await resolveFrom(file)).toMatch(/AUTH_SECRET_FILE: .*open may be written by any user/);
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    expect(await resolveFrom(file)).toMatch(/AUTH_SECRET_FILE: .*open may be written by any user/);
    await chmod(open, 0o1777);
    expect(await resolveFrom(file)).toBe(SECRET);
  });

  test("drafts abandoned by processes killed before publishing are removed; a recent one (in progress) stays", async () => {
    const file = path.join(dir, "auth-secret");
    const abandoned = `${file}.4194305.0123456789ab`;
    const inProgress = `${file}.4194306.ba9876543210`;
    await writeFile(abandoned, "half", { mode: 0o600 });
    await writeFile(inProgress, "half", { mode: 0o600 });
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(abandoned, longAgo, longAgo);
    await resolveFrom(file);
    expect((await readdir(dir)).sort()).toEqual(["auth-secret", path.basename(inProgress)]);
  });
});
