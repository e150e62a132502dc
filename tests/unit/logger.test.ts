import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";

function capture(pretty: boolean) {
  const written: string[] = [];
  const logger = createLogger({ level: "info", pretty, destination: { write: (chunk: string) => void written.push(chunk) } });
  return { logger, text: () => written.join("") };
}

describe("createLogger", () => {
  it("writes JSON lines, with credential-named fields redacted", () => {
    const { logger, text } = capture(false);
    logger.info({ requestId: "r1", password: "hunter2hunter2", user: { token: "secret-token-value" } }, "request");
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: "request", requestId: "r1", password: "[redacted]", user: { token: "[redacted]" } });
  });

  it("redacts machine clients' secrets, in either spelling", () => {
    const { logger, text } = capture(false);
    logger.info({ clientSecret: "sacs_one", client: { clientSecret: "sacs_two" }, client_secret: "sacs_three", form: { client_secret: "sacs_four" } }, "client");
    expect(text()).not.toMatch(/sacs_/);
    expect(JSON.parse(text())).toMatchObject({ clientSecret: "[redacted]", client: { clientSecret: "[redacted]" }, client_secret: "[redacted]", form: { client_secret: "[redacted]" } });
  });

  it("writes human-readable lines when pretty, with the same redaction", () => {
    const { logger, text } = capture(true);
    logger.info({ requestId: "r1", password: "hunter2hunter2" }, "request");
    expect(text()).toMatch(/INFO.*request/);
    expect(text()).toMatch(/requestId.*"r1"/);
    expect(text()).not.toContain("hunter2hunter2");
    expect(() => JSON.parse(text())).toThrow();
  });
});
