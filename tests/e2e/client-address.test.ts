import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eRuntimes, ROOT, type Runtime } from "../support/spawn-server.ts";

/**
 * The client address is read from the connection only when first needed (src/http/middleware/client-ip.ts), which
 * is safe because of a fact about the runtimes checked here on each, through Servauth's own adapter: once the
 * client has hung up, the address can no longer be read. An address read before the hang-up is kept; one first
 * asked for after it refuses the request (CLIENT_CLOSED_REQUEST).
 */
const PROBE = path.join(ROOT, "tests/support/hang-up-probe.ts");
const COMMAND: Record<Runtime, string[]> = {
  bun: [path.join(ROOT, "node_modules/.bin/bun"), PROBE],
  node: [process.env.SERVAUTH_TEST_NODE || "node", "--import", "tsx", PROBE],
};

type Report = { early?: string; hungUp: boolean; late: string | null; forTheLog: string | null };

describe.each(e2eRuntimes())("on %s, a client that hangs up", (runtime) => {
  let probe: ChildProcess;
  let port: number;
  const reports: Report[] = [];
  const waiting: Array<(report: Report) => void> = [];

  beforeAll(async () => {
    const [command = "", ...args] = COMMAND[runtime];
    probe = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: probe.stdout! });
    const listening = new Promise<string>((resolve) =>
      lines.on("line", (line) => {
        const message = JSON.parse(line) as { url?: string } & Report;
        if (message.url !== undefined) return resolve(message.url);
        const next = waiting.shift();
        if (next) next(message);
        else reports.push(message);
      }),
    );
    port = Number(new URL(await listening).port);
  });
  afterAll(() => {
    probe.kill("SIGKILL");
  });

  /** Sends a complete request, hangs up at once, and resolves with what the handler saw after the hang-up. */
  function sendAndHangUp(target: string): Promise<Report> {
    const report = new Promise<Report>((resolve) => (reports.length > 0 ? resolve(reports.shift()!) : waiting.push(resolve)));
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      // Long enough for the request to reach its handler, as a client that hangs up after sending does.
      setTimeout(() => socket.destroy(), 200);
    });
    socket.on("error", () => {});
    return report;
  }

  it("keeps the address read before it hung up", async () => {
    const report = await sendAndHangUp("/?early=1");
    expect(report).toEqual({ early: expect.stringMatching(/127\.0\.0\.1$/), hungUp: true, late: report.early, forTheLog: report.early });
  });

  it("keeps the address read from a request middleware replaced with a copy", async () => {
    const report = await sendAndHangUp("/?early=1&copy=1");
    expect(report.early).toMatch(/127\.0\.0\.1$/);
  });

  it("is refused when its address is first asked for after it hung up: the runtime can no longer read it", async () => {
    expect(await sendAndHangUp("/")).toEqual({ hungUp: true, late: "CLIENT_CLOSED_REQUEST", forTheLog: null });
  });
});
