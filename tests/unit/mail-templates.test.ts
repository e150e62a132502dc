import { describe, expect, it } from "vitest";
import { formatDuration, mails } from "../../src/delivery/templates.ts";

describe("mail templates", () => {
  it("say a lifetime of one unit in the singular and of several in the plural", () => {
    expect([1, 45, 60, 90, 3600, 7200, 5400, 86_400, 172_800].map(formatDuration)).toEqual([
      "1 second",
      "45 seconds",
      "1 minute",
      "2 minutes",
      "1 hour",
      "2 hours",
      "90 minutes",
      "1 day",
      "2 days",
    ]);
  });

  it("tell the reader of a reset mail that the link expires in 1 hour, in the text and the HTML", () => {
    const mail = mails.passwordReset("ann@example.com", "https://example.com/reset-password?token=x", 3600);
    expect(mail.text).toContain("expires in 1 hour.");
    expect(mail.html).toContain("expires in 1 hour.");
    expect(mail.text).not.toContain("(s)");
  });

  it("tell the reader of a verification mail not to confirm a registration that was not theirs (whoever registered chose the password)", () => {
    const mail = mails.verifyEmail("ann@example.com", "https://example.com/verify-email?token=x", 86_400);
    for (const body of [mail.text, mail.html]) expect(body).toContain("If you did not create an account with this address, do not follow the link");
  });
});
