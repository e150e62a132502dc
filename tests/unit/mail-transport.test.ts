import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/config.ts";
import { parseEnv } from "../../src/config/env.ts";
import { createMailer } from "../../src/delivery/create-mailer.ts";
import { mails } from "../../src/delivery/templates.ts";
import { createLogger } from "../../src/observability/logger.ts";

/**
 * Mail without SMTP: readable blocks for a developer, and in production only ever to the log when the operator
 * asked for it (MAIL_TRANSPORT=log; parseEnv refuses production without SMTP_URL otherwise, see env.test.ts).
 * @see issue 13, item 7
 */

const SECRET = "0123456789abcdef0123456789abcdef";
const LINK = "http://localhost:3000/reset-password?token=abc%2Fdef";

function mailerFor(env: Record<string, string>) {
  const logged: string[] = [];
  const printed: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void logged.push(line) } });
  const mailer = createMailer(buildConfig(parseEnv(env), SECRET), logger, { write: (text: string) => printed.push(text) });
  return { mailer, logged, printed };
}

describe("mail without SMTP_URL", () => {
  it("in development, each mail is printed as a block: to, subject, the link on a line of its own, the body as written", async () => {
    const { mailer, logged, printed } = mailerFor({});
    const message = mails.passwordReset("ada@example.com", LINK, 3600);
    await mailer.send(message);

    expect(logged).toEqual([]);
    const [block = ""] = printed;
    const lines = block.split("\n");
    expect(lines).toContain("To:      ada@example.com");
    expect(lines).toContain("Subject: Reset your password");
    expect(lines).toContain(LINK);
    // The body keeps its line breaks: no JSON escaping.
    expect(block).toContain(message.text);
    expect(block).not.toContain("\\n");
  });

  it("a mail without a link (a sign-in code) prints its body, code on its own line", async () => {
    const { mailer, printed } = mailerFor({ NODE_ENV: "test" });
    await mailer.send(mails.oneTimeCode("ada@example.com", "123456", "sign-in", 300));
    expect(printed.join("").split("\n")).toContain("123456");
    expect(printed.join("")).not.toContain("Link:");
  });

  it("in production with MAIL_TRANSPORT=log, mail goes to the log, and the start says that it holds secrets", async () => {
    const { mailer, logged, printed } = mailerFor({ NODE_ENV: "production", APP_URL: "https://auth.example.com", AUTH_SECRET: SECRET, MAIL_TRANSPORT: "log" });
    expect(logged.map((line) => JSON.parse(line) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/MAIL_TRANSPORT=log: .*reset links and sign-in codes.* written to the log/) }),
    ]);
    await mailer.send(mails.passwordReset("ada@example.com", LINK, 3600));
    expect(printed).toEqual([]);
    expect(logged[1]).toContain(LINK);
  });
});
