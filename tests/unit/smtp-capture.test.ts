import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp-capture.ts";

/**
 * The tests' SMTP server outlives a sender that drops mid-message, as a server SIGKILLed while mailing does
 * (tests/e2e/outbox-durability.test.ts): smtp-server reports the reset as an 'error' event, which unheard ends the
 * test process.
 */
let smtp: SmtpCapture;
beforeAll(async () => {
  smtp = await startSmtpCapture();
});
afterAll(async () => {
  await smtp.close();
});

/**
 * A raw SMTP conversation: each line sent once the server has answered the one before. Returns the last line of
 * each reply (the one whose code is followed by a space; a multi-line reply's other lines have a hyphen there).
 */
async function converse(socket: Socket, lines: string[]): Promise<string[]> {
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString();
  });
  const replies = () => received.split("\r\n").filter((line) => /^\d{3} /.test(line));
  const answered = async (count: number) => {
    await expect.poll(() => replies().length, { timeout: 2_000, interval: 10 }).toBeGreaterThanOrEqual(count);
  };
  await answered(1);
  for (const [index, line] of lines.entries()) {
    socket.write(`${line}\r\n`);
    await answered(index + 2);
  }
  return replies();
}

describe("the SMTP capture", () => {
  it("keeps serving after a sender resets its connection in the middle of a message", async () => {
    const dropped = connect(smtp.port, "127.0.0.1");
    const replies = await converse(dropped, ["EHLO sender.example", "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>", "DATA"]);
    expect(replies.at(-1)).toMatch(/^354/);
    const closed = new Promise((resolve) => dropped.on("close", resolve));
    dropped.resetAndDestroy();
    await closed;

    const next = connect(smtp.port, "127.0.0.1");
    const greeting = await converse(next, ["EHLO sender.example"]);
    expect(greeting[0]).toMatch(/^220/);
    next.destroy();
  });
});
