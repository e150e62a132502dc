import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { baseEnv, freePort, ROOT } from "../support/spawn-server.ts";

/**
 * No docker engine runs on CI, so the container files are checked by every other means: the Dockerfile is linted and
 * its facts pinned, the compose file is parsed by docker-compose itself, and the image's own start command and
 * health check are run outside a container against a temporary DATA_DIR.
 */

const run = promisify(execFile);
const BIN = path.join(ROOT, "node_modules", ".bin");
const hasDockerCompose = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;

type Instruction = { keyword: string; args: string };

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
async function readDockerfile(): Promise<Instruction[]> {
  const text = (await readFile(path.join(ROOT, "Dockerfile"), "utf8")).replace(/\\\r?\n/g, " ");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The instructions of the last stage: the image that runs. */
function finalStage(instructions: Instruction[]): Instruction[] {
  const lastFrom = instructions.map((instruction) => instruction.keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}

function only(instructions: Instruction[], keyword: string): string {
  const found = instructions.filter((instruction) => instruction.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]?.args ?? "";
}

/** ENV a=b c=d, as the image sets it. */
function imageEnv(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions.filter((instruction) => instruction.keyword === "ENV")) {
    for (const [, name = "", value = ""] of args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[name] = value;
  }
  return env;
}

describe("Dockerfile", () => {
  test("passes dockerfile-utils lint", async () => {
    const { stdout, stderr } = await run(path.join(BIN, "dockerfile-utils"), ["lint", "Dockerfile"], { cwd: ROOT });
    expect(stdout + stderr).toBe("");
  });

  test("pins the Bun of package.json, runs as a non-root user, exposes 3000 and checks /health", async () => {
    const instructions = await readDockerfile();
    const images = instructions.filter((instruction) => instruction.keyword === "FROM").map((instruction) => instruction.args.split(" ")[0]);
    expect(images.length).toBeGreaterThanOrEqual(2);
    for (const image of images) expect(image).toMatch(new RegExp(`^oven/bun:${packageJson.dependencies.bun.replace(/\./g, "\\.")}(-|$)`));

    const stage = finalStage(instructions);
    expect(only(stage, "USER")).not.toMatch(/^(root|0)(:|$)/);
    expect(only(stage, "EXPOSE")).toBe("3000");
    expect(only(stage, "HEALTHCHECK")).toContain("/health");
    expect(JSON.parse(only(stage, "CMD"))).toEqual(["bun", "src/cli/main.ts", "serve"]);
    expect(imageEnv(stage)).toMatchObject({ NODE_ENV: "production" });
  });
});

describe("the image's start command, outside a container", () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-image-"));
  });
  afterAll(async () => {
    child?.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  test("CMD serves /health on a fresh DATA_DIR, the HEALTHCHECK command passes, SIGTERM exits 0", async () => {
    const stage = finalStage(await readDockerfile());
    const [command = "", ...args] = JSON.parse(only(stage, "CMD")) as string[];
    const port = await freePort();
    // The image's ENV, then what an operator must add in production; PATH finds the Bun of package.json first.
    const env = baseEnv({
      ...imageEnv(stage),
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      APP_URL: `http://127.0.0.1:${port}`,
      AUTH_SECRET: randomBytes(32).toString("base64url"),
      PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
    });
    const started = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    let output = "";
    started.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    started.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => started.once("exit", (code) => resolve(code)));

    let healthy = false;
    for (const since = Date.now(); !healthy && Date.now() - since < 50_000 && started.exitCode === null; ) {
      healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.status === 200,
        () => false,
      );
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(healthy, output).toBe(true);

    // HEALTHCHECK [OPTIONS] CMD <shell command>: run by /bin/sh in the container, as here.
    const healthcheck = only(stage, "HEALTHCHECK").replace(/^.*?\bCMD\s+/, "");
    const check = spawnSync("sh", ["-c", healthcheck], { env, encoding: "utf8", timeout: 15_000 });
    expect(check.status, check.stderr).toBe(0);

    started.kill("SIGTERM");
    expect(await exited, output).toBe(0);
  });
});

describe.skipIf(!hasDockerCompose)(
  `docker-compose.yml${hasDockerCompose ? "" : " (skipped: docker-compose is not installed; apt-get install docker-compose)"}`,
  () => {
    let envFile: string;
    let emptyEnvFile: string;
    beforeAll(async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "servauth-compose-"));
      envFile = path.join(dir, "env");
      emptyEnvFile = path.join(dir, "empty");
      await writeFile(envFile, `AUTH_SECRET=${randomBytes(32).toString("base64url")}\n`);
      await writeFile(emptyEnvFile, "");
    });
    afterAll(async () => {
      await rm(path.dirname(envFile), { recursive: true, force: true });
    });

    // --env-file, so a developer's own .env cannot change the outcome.
    const compose = (args: string[], file: string, composeFile = "docker-compose.yml") =>
      spawnSync("docker-compose", ["--env-file", file, "-f", composeFile, ...args], { cwd: ROOT, env: baseEnv(), encoding: "utf8" });

    test("docker-compose config -q accepts it; redis is only in its profile", () => {
      const check = compose(["config", "-q"], envFile);
      expect(check.status, check.stderr).toBe(0);
      const config = compose(["config"], envFile).stdout;
      expect(config).toMatch(/\n {2}redis:\n(?: {4}.*\n)*? {4}profiles:\n {4}- redis\n/);
    });

    test("servauth waits for a healthy postgres 16 with a named volume, and refuses to start without AUTH_SECRET", () => {
      const config = compose(["config"], envFile).stdout;
      expect(config).toMatch(/depends_on:\s+postgres:\s+condition: service_healthy/);
      expect(config).toMatch(/image: postgres:16/);
      expect(config).toMatch(/pg_isready/);
      expect(config).toMatch(/volumes:\s+postgres-data:/);
      const withoutSecret = compose(["config", "-q"], emptyEnvFile);
      expect(withoutSecret.status).not.toBe(0);
      expect(withoutSecret.stderr).toContain("AUTH_SECRET");
    });

    test("docker-compose.scale.yml: two instances on one PostgreSQL behind nginx, trusting that one proxy hop", async () => {
      const scaleEnv = path.join(path.dirname(envFile), "scale");
      await writeFile(scaleEnv, `AUTH_SECRET=${randomBytes(32).toString("base64url")}\nAPP_URL=https://auth.example.com\n`);
      const check = compose(["config", "-q"], scaleEnv, "docker-compose.scale.yml");
      expect(check.status, check.stderr).toBe(0);
      const config = compose(["config"], scaleEnv, "docker-compose.scale.yml").stdout;
      for (const instance of ["servauth-1", "servauth-2"]) {
        expect(config).toMatch(new RegExp(`\\n {2}${instance}:\\n(?: {4}.*\\n| {6}.*\\n)*? {6}TRUST_PROXY: '1'\\n`));
      }
      expect(config).toMatch(/deploy\/nginx\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro/);
      const nginx = await readFile(path.join(ROOT, "deploy/nginx.conf"), "utf8");
      expect(nginx).toMatch(/server servauth-1:3000/);
      expect(nginx).toMatch(/server servauth-2:3000/);
      expect(compose(["config", "-q"], emptyEnvFile, "docker-compose.scale.yml").status).not.toBe(0);
    });
  },
);

test(".env.example documents every variable of src/config/env.ts", async () => {
  const source = await readFile(path.join(ROOT, "src/config/env.ts"), "utf8");
  // The keys of its zod object schemas: upper-case names at the first level of indentation.
  const variables = [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]);
  expect(variables.length).toBeGreaterThan(20);
  const example = await readFile(path.join(ROOT, ".env.example"), "utf8");
  expect(variables.filter((name) => !new RegExp(`^(# )?${name}=`, "m").test(example))).toEqual([]);
});
