import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchBrowser, type TestBrowser } from "../support/browser.ts";
import { startSmtpCapture, type SmtpCapture } from "../support/smtp-capture.ts";
import { spawnServer, type SpawnedServer } from "../support/spawn-server.ts";

const PASSWORD = "correct horse battery staple";

/** Waits for the page whose h1 says `text`; on a timeout, says which page is shown instead. */
async function expectHeading(page: Page, text: string) {
  const heading = page.getByRole("heading", { level: 1, name: text, exact: true });
  try {
    await heading.waitFor({ timeout: 15_000 });
  } catch {
    throw new Error(`expected the page "${text}", got "${await page.locator("h1").textContent().catch(() => null)}" at ${page.url()}`);
  }
}

/** The text of the elements a field's aria-describedby names, as a screen reader reads it with the field. */
async function describedBy(page: Page, field: Locator): Promise<string> {
  const ids = (await field.getAttribute("aria-describedby"))?.split(/\s+/) ?? [];
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  return texts.join(" ");
}

describe.skipIf(!hasChromium)("the pages behind the links in mail, in Chromium", () => {
  let smtp: SmtpCapture;
  let server: SpawnedServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    server = await spawnServer({ runtime: "bun", env: { SMTP_URL: smtp.url, ACCOUNT_DELETION_GRACE: "3600" } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  let counter = 0;
  async function register() {
    counter += 1;
    const email = `browser-${Date.now()}-${counter}@example.com`;
    const response = await post("/auth/register", { email, password: PASSWORD });
    expect(response.status).toBe(201);
    return { email, ...((await response.json()) as { accessToken: string }) };
  }

  /** The link of the one mail to `to` with this subject, exactly as the mail carries it. */
  async function linkIn(to: string, subject: string, path: string): Promise<string> {
    const mail = await smtp.waitFor(to, (m) => m.subject === subject, 15_000);
    const link = new RegExp(`${server.url}${path}\\?token=[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
    if (link === undefined) throw new Error(`no ${path} link in: ${mail.text}`);
    return link;
  }

  const loginStatus = async (email: string, password: string) => (await post("/auth/login", { email, password })).status;

  it("confirm email: the link shows a button, the button confirms, and the spent link then says so", async () => {
    const { email, accessToken } = await register();
    const link = await linkIn(email, "Confirm your email address", "/verify-email");
    const { page, log } = await browser.newPage();

    await page.goto(link);
    await expectHeading(page, "Confirm your email address");
    // Opening the link did not spend the token (a mail scanner's GET must not).
    const me = async () => (await (await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { user: { emailVerified: boolean } };
    expect((await me()).user.emailVerified).toBe(false);

    await page.getByRole("button", { name: "Confirm my email address" }).click();
    await expectHeading(page, "Your email address is confirmed");
    expect(await page.locator("main").textContent()).toContain(`${email} is confirmed`);
    expect(new URL(page.url()).search).toBe("");
    expect((await me()).user.emailVerified).toBe(true);

    await page.goto(link);
    await page.getByRole("button", { name: "Confirm my email address" }).click();
    await expectHeading(page, "This link can no longer be used");
    expect(log.cspViolations).toEqual([]);
    await page.close();
  });

  it("reset password: the policy's error sits under the field, the token stays out of URLs and Referers, a good password works", async () => {
    const { email } = await register();
    expect((await post("/auth/forgot-password", { email })).status).toBe(202);
    const link = await linkIn(email, "Reset your password", "/reset-password");
    const { page, log } = await browser.newPage();
    await page.goto(link);
    const field = page.getByLabel("New password");

    for (const [weak, reason] of [
      ["password", /most common passwords/],
      ["short", /at least 8 characters/],
    ] as const) {
      await field.fill(weak);
      await page.getByRole("button", { name: "Set the new password" }).click();
      await expectHeading(page, "Choose a new password");
      expect(await page.title()).toBe("Error: Choose a new password");
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      // The error is tied to the field: a screen reader reads it with the field.
      expect(await describedBy(page, field)).toMatch(reason);
    }
    expect(await loginStatus(email, PASSWORD)).toBe(200);

    await field.fill("a new and unusual passphrase");
    await page.getByRole("button", { name: "Set the new password" }).click();
    await expectHeading(page, "Your password was changed");
    expect(await loginStatus(email, "a new and unusual passphrase")).toBe(200);
    expect(await loginStatus(email, PASSWORD)).toBe(401);

    const token = new URL(link).searchParams.get("token") ?? "";
    const sent = await Promise.all(log.requests.map(async (request) => ({ ...request, headers: await request.headers })));
    expect(sent.map((request) => request.method)).toEqual(["GET", "POST", "POST", "POST"]);
    for (const request of sent.slice(1)) expect(request.url).toBe(`${server.url}/reset-password`);
    for (const request of sent) expect(request.headers.referer).toBeUndefined();
    expect(sent.slice(1).every((request) => !JSON.stringify(request).includes(token))).toBe(true);
    expect(log.cspViolations).toEqual([]);
    await page.close();
  });

  it("cancel deletion: the link keeps the account, and the account can sign in again", async () => {
    const { email, accessToken } = await register();
    const scheduled = await fetch(`${server.url}/auth/me`, {
      method: "DELETE",
      headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(scheduled.status).toBe(202);
    expect(await loginStatus(email, PASSWORD)).toBe(403);
    const link = await linkIn(email, "Your account will be deleted", "/cancel-deletion");
    const { page, log } = await browser.newPage();

    await page.goto(link);
    await expectHeading(page, "Keep your account");
    await page.getByRole("button", { name: "Keep my account" }).click();
    await expectHeading(page, "Your account will not be deleted");
    expect(await loginStatus(email, PASSWORD)).toBe(200);
    expect(log.cspViolations).toEqual([]);
    await page.close();
  });

  describe("a form on another site", () => {
    let attacker: Server;
    let attackerUrl: string;
    let formHtml = "";
    beforeAll(async () => {
      attacker = createServer((_request, response) => response.writeHead(200, { "content-type": "text/html" }).end(formHtml));
      await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
      // localhost and 127.0.0.1 are different sites to a browser.
      attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((resolve) => attacker.close(() => resolve())));

    it("cannot post to the pages: refused with 403, and the token stays unspent for its owner", async () => {
      const { email } = await register();
      const link = await linkIn(email, "Confirm your email address", "/verify-email");
      const token = new URL(link).searchParams.get("token") ?? "";
      formHtml = `<!doctype html><form method="post" action="${server.url}/verify-email">
        <input type="hidden" name="token" value="${token}"><button>Win a prize</button></form>`;
      const { page } = await browser.newPage();

      await page.goto(attackerUrl);
      const [answer] = await Promise.all([page.waitForResponse(`${server.url}/verify-email`), page.getByRole("button", { name: "Win a prize" }).click()]);
      expect(answer.status()).toBe(403);
      await expectHeading(page, "The request origin is not allowed");

      await page.goto(link);
      await page.getByRole("button", { name: "Confirm my email address" }).click();
      await expectHeading(page, "Your email address is confirmed");
      await page.close();
    });
  });
});
