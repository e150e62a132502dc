import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import dockerignore from "@balena/dockerignore";
import { type Add, type Copy, DockerfileParser } from "dockerfile-ast";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import packageJson from "../../package.json" with { type: "json" };
import { parseEnv } from "../../src/config/env.ts";
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

/** The sources of every COPY/ADD that reads the build context (not `--from=` another stage or image). */
async function contextSources(): Promise<string[]> {
  const dockerfile = DockerfileParser.parse(await readFile(path.join(ROOT, "Dockerfile"), "utf8"));
  const transfers = dockerfile
    .getInstructions()
    .filter((instruction): instruction is Copy | Add => ["COPY", "ADD"].includes(instruction.getKeyword()))
    .filter((instruction) => !instruction.getFlags().some((flag) => flag.getName() === "from"));
  return transfers.flatMap((instruction) => {
    const json = instruction.getJSONStrings().map((argument) => argument.getJSONValue());
    const words = json.length > 0 ? json : instruction.getArguments().map((argument) => argument.getValue());
    return words.slice(0, -1); // the last one is the destination
  });
}

/** The files under a context path (itself, if it is a file), relative to the repository root. */
async function filesUnder(source: string): Promise<string[]> {
  const full = path.join(ROOT, source);
  if (!(await stat(full)).isDirectory()) return [path.relative(ROOT, full)];
  const entries = await readdir(full, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

describe("Dockerfile", () => {
  test("every COPY/ADD source from the build context exists and is not left out by .dockerignore", async () => {
    const sources = await contextSources();
    expect(sources.length).toBeGreaterThan(0);
    // Wildcards would need Docker's own expansion; the Dockerfile names its sources plainly.
    expect(sources.filter((source) => /[*?[]/.test(source))).toEqual([]);
    const ignored = dockerignore({}).add(await readFile(path.join(ROOT, ".dockerignore"), "utf8"));
    const leftOut: string[] = [];
    for (const source of sources) {
      const files = await filesUnder(source).catch(() => []);
      expect(files, `${source} is not in the repository`).not.toEqual([]);
      leftOut.push(...files.filter((file) => ignored.ignores(file)));
    }
    expect(leftOut, "sent to COPY/ADD but left out of the build context by .dockerignore").toEqual([]);
  });

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

  test("CMD serves /health on a fresh DATA_DIR with compose's AUTH_SECRET_FILE, the HEALTHCHECK passes, SIGTERM exits 0", async () => {
    const stage = finalStage(await readDockerfile());
    const [command = "", ...args] = JSON.parse(only(stage, "CMD")) as string[];
    const port = await freePort();
    // The image's ENV, then what docker-compose.yml and .env.example add: no AUTH_SECRET, a file for the generated
    // one in a fresh volume. PATH finds the Bun of package.json first.
    const secretFile = path.join(dataDir, "secret-volume", "auth-secret");
    const env = baseEnv({
      ...imageEnv(stage),
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      APP_URL: `http://127.0.0.1:${port}`,
      AUTH_SECRET: "",
      AUTH_SECRET_FILE: secretFile,
      // Nothing listens there: the server connects only to send a mail, and this test sends none.
      SMTP_URL: "smtp://127.0.0.1:2525",
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
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);

    // HEALTHCHECK [OPTIONS] CMD <shell command>: run by /bin/sh in the container, as here.
    const healthcheck = only(stage, "HEALTHCHECK").replace(/^.*?\bCMD\s+/, "");
    const check = spawnSync("sh", ["-c", healthcheck], { env, encoding: "utf8", timeout: 15_000 });
    expect(check.status, check.stderr).toBe(0);

    started.kill("SIGTERM");
    expect(await exited, output).toBe(0);
  });
});

type ComposeService = { environment?: Record<string, string>; volumes?: string[]; depends_on?: Record<string, { condition: string }> };
type ComposeConfig = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };

/**
 * `docker-compose config` on a copy of `composeFile` in a directory of its own, next to `dotEnv` as its .env (or
 * none), as a fresh clone would have it: a developer's own .env cannot change the outcome.
 */
async function composeConfig(composeFile: string, dotEnv: string | undefined) {
  const dir = await mkdtemp(path.join(tmpdir(), "servauth-compose-"));
  try {
    await writeFile(path.join(dir, composeFile), await readFile(path.join(ROOT, composeFile), "utf8"));
    if (dotEnv !== undefined) await writeFile(path.join(dir, ".env"), dotEnv);
    const result = spawnSync("docker-compose", ["-f", composeFile, "config"], { cwd: dir, env: baseEnv(), encoding: "utf8" });
    return { status: result.status, stderr: result.stderr, config: result.status === 0 ? (parseYaml(result.stdout) as ComposeConfig) : undefined };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasDockerCompose)(
  `docker compose files${hasDockerCompose ? "" : " (skipped: docker-compose is not installed; apt-get install docker-compose)"}`,
  () => {
    let envExample: string;
    beforeAll(async () => {
      envExample = await readFile(path.join(ROOT, ".env.example"), "utf8");
    });

    // The quick start is `cp .env.example .env`, then `docker compose up`.
    for (const [composeFile, instances] of [
      ["docker-compose.yml", ["servauth"]],
      ["docker-compose.scale.yml", ["servauth-1", "servauth-2"]],
    ] as const) {
      test(`${composeFile}: .env.example as .env is enough; every variable of .env reaches the server; a secret volume`, async () => {
        // A setting docker-compose.yml never named, and attempts to override what the file fixes.
        const dotEnv = `${envExample}\nOTP_TTL=120\nNODE_ENV=development\nDATABASE_URL=memory://\nPORT=4000\n`;
        const { status, stderr, config } = await composeConfig(composeFile, dotEnv);
        expect(status, stderr).toBe(0);
        for (const instance of instances) {
          const service = config?.services[instance];
          expect(service?.environment).toMatchObject({
            OTP_TTL: "120",
            APP_URL: "http://localhost:3000",
            NODE_ENV: "production",
            DATABASE_URL: "postgres://servauth:servauth@postgres:5432/servauth",
            PORT: "3000",
            HOST: "0.0.0.0",
            AUTH_SECRET_FILE: "/app/secret/auth-secret",
          });
          // Empty in .env.example: the server generates the secret into the volume every instance mounts.
          expect(service?.environment?.AUTH_SECRET ?? "").toBe("");
          expect(service?.volumes).toContain("auth-secret:/app/secret:rw");
          expect(service?.depends_on?.postgres?.condition).toBe("service_healthy");
          // What the server itself demands of production (a secret, APP_URL, a way to send mail) is all there.
          expect(() => parseEnv(service?.environment ?? {})).not.toThrow();
        }
        expect(Object.keys(config?.volumes ?? {}).sort()).toEqual(["auth-secret", "postgres-data"]);
      });

      test(`${composeFile}: without .env, docker-compose says it is missing`, async () => {
        const { status, stderr } = await composeConfig(composeFile, undefined);
        expect(status).not.toBe(0);
        expect(stderr).toContain(".env");
      });
    }

    test("docker-compose.yml: postgres 16 with a named volume and a health check; redis only in its profile", async () => {
      const { config } = await composeConfig("docker-compose.yml", envExample);
      expect(config?.services.postgres).toMatchObject({ image: "postgres:16", volumes: expect.arrayContaining([expect.stringMatching(/^postgres-data:/)]) });
      expect(JSON.stringify(config?.services.postgres)).toContain("pg_isready");
      expect(config?.services.redis).toMatchObject({ profiles: ["redis"] });
    });

    test("docker-compose.scale.yml: two instances on one PostgreSQL behind nginx, trusting that one proxy hop", async () => {
      const { config } = await composeConfig("docker-compose.scale.yml", envExample);
      for (const instance of ["servauth-1", "servauth-2"]) expect(config?.services[instance]?.environment?.TRUST_PROXY).toBe("1");
      expect(JSON.stringify(config?.services.nginx)).toMatch(/deploy\/nginx\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro/);
      const nginx = await readFile(path.join(ROOT, "deploy/nginx.conf"), "utf8");
      expect(nginx).toMatch(/server servauth-1:3000/);
      expect(nginx).toMatch(/server servauth-2:3000/);
    });
  },
);
