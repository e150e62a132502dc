import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { e2eRuntimes, type Runtime, runCli } from "../support/spawn-server.ts";

/** The CLI as an operator meets it: exit codes and what lands on stderr. */

let dataDir: string;
beforeAll(async () => {
  // Never the repository's ./data, even if a configuration unexpectedly passed.
  dataDir = await mkdtemp(path.join(tmpdir(), "servauth-e2e-cli-"));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe.each<Runtime>(e2eRuntimes())("the CLI on %s", (runtime) => {
  test("a bad environment: exit 1, one message naming every bad variable, no stack trace, no secrets", async () => {
    const result = await runCli(runtime, ["serve"], {
      DATA_DIR: dataDir,
      NODE_ENV: "production",
      PORT: "abc",
      AUTH_SECRET: "short-secret-value",
      DATABASE_URL: "mysql://servauth:hunter2@db.example/servauth",
    });

    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const [message] = lines;
    expect(message).toMatch(/^servauth: invalid configuration: /);
    for (const variable of ["PORT", "AUTH_SECRET", "DATABASE_URL"]) expect(message).toContain(variable);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr).not.toContain("short-secret-value");
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stdout).toBe("");
  });

  test("an unknown command: exit 2 with the usage", async () => {
    const result = await runCli(runtime, ["nonsense"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("unknown command or argument: nonsense");
    expect(result.stderr).toContain("usage: servauth <command>");
  });
});
