import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { MailMessage } from "../../src/delivery/mailer.ts";
import { PAGE_CSP } from "../../src/http/pages/page.ts";
import { tokenFrom } from "../support/smtp-capture.ts";
import { bearer, createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ ACCOUNT_DELETION_GRACE: "3600" });
});
afterAll(() => t.close());
afterEach(() => {
  vi.useRealTimers();
});

/** The newest mail to `to` with this subject, once the background queue has sent it. */
async function mailTo(app: TestApp, to: string, subject: string): Promise<MailMessage> {
  return vi.waitFor(() => {
    const found = app.sentMail.findLast((mail) => mail.to === to && mail.subject === subject);
    if (found === undefined) throw new Error(`no "${subject}" mail yet`);
    return found;
  });
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const FROM_THE_PAGE = { ...FORM, "sec-fetch-site": "same-origin", origin: "null" };
const submit = (path: string, fields: Record<string, string>, headers: Record<string, string> = FROM_THE_PAGE) =>
  t.app.request(path, { method: "POST", headers, body: new URLSearchParams(fields).toString() });
const show = (path: string, token: string) => t.app.request(`${path}?token=${encodeURIComponent(token)}`);

const heading = (html: string) => /<h1>(.*?)<\/h1>/s.exec(html)?.[1];

async function verifyToken(email: string) {
  return tokenFrom(await mailTo(t, email, "Confirm your email address"), "/verify-email");
}

describe("the pages behind the links in mail", () => {
  it.each(["/verify-email", "/reset-password", "/cancel-deletion"])("GET %s is an accessible HTML page under a CSP that allows no script", async (path) => {
    const response = await show(path, "a".repeat(43));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toBe(PAGE_CSP);
    expect(PAGE_CSP).toMatch(/default-src 'none'/);
    expect(PAGE_CSP).not.toMatch(/script-src|unsafe-inline/);
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>\s*<html lang="en">/);
    expect(html).not.toMatch(/<script/i);
    // The form posts to the page's path without the query: the token goes in the body only.
    expect(html).toContain(`<form method="post" action="${path.slice(1)}"`);
    expect(html).toContain(`<input type="hidden" name="token" value="${"a".repeat(43)}">`);
  });

  it("a GET never spends the token: the confirmation happens on the POST", async () => {
    const { account, accessToken } = await registerUser(t);
    const token = await verifyToken(account.email);
    expect((await show("/verify-email", token)).status).toBe(200);
    expect((await show("/verify-email", token)).status).toBe(200);
    const me = async () => ((await (await t.request("GET", "/auth/me", undefined, bearer(accessToken))).json()) as { user: { emailVerified: boolean } }).user;
    expect((await me()).emailVerified).toBe(false);
    const confirmed = await submit("/verify-email", { token });
    expect(confirmed.status).toBe(200);
    expect(heading(await confirmed.text())).toBe("Your email address is confirmed");
    expect((await me()).emailVerified).toBe(true);
    const again = await submit("/verify-email", { token });
    expect(again.status).toBe(400);
    expect(heading(await again.text())).toBe("This link can no longer be used");
  });

  it("escapes what it echoes: the address on the confirmation page, a token that is not one", async () => {
    const { account } = await registerUser(t, { email: `o'brien.${Date.now()}@example.com` });
    const confirmed = await (await submit("/verify-email", { token: await verifyToken(account.email) })).text();
    expect(confirmed).toContain(account.email.replace("'", "&#39;"));
    expect(confirmed).not.toContain(account.email);

    const forged = await show("/reset-password", `"><script>alert(1)</script>`);
    expect(forged.status).toBe(400);
    const html = await forged.text();
    expect(heading(html)).toBe("This link can no longer be used");
    expect(html).not.toContain("<script>");
  });

  it("reset: a refused password is shown under its field, and the token stays usable for the next try", async () => {
    const { account } = await registerUser(t);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    const token = tokenFrom(await mailTo(t, account.email, "Reset your password"), "/reset-password");

    for (const [password, reason] of [["password", "most common passwords"], ["short", "at least 8 characters"]]) {
      const refused = await submit("/reset-password", { token, password: password ?? "" });
      expect(refused.status).toBe(400);
      const html = await refused.text();
      expect(html).toContain("<title>Error: Choose a new password</title>");
      expect(html).toMatch(new RegExp(`<p class="error" id="password-error">Error: [^<]*${reason}`));
      expect(html).toMatch(/<input type="password" id="password"[^>]*aria-describedby="password-hint password-error" aria-invalid="true"/);
      expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
      expect(html).not.toContain(`value="${password}"`);
    }
    const done = await submit("/reset-password", { token, password: "a new and unusual passphrase" });
    expect(heading(await done.text())).toBe("Your password was changed");
    expect((await t.request("POST", "/auth/login", { email: account.email, password: "a new and unusual passphrase" })).status).toBe(200);
  });

  it("an expired link shows the page for a link that can no longer be used", async () => {
    const { account } = await registerUser(t);
    const verify = await verifyToken(account.email);
    expect((await t.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
    const reset = tokenFrom(await mailTo(t, account.email, "Reset your password"), "/reset-password");
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 2 * 86_400_000 });
    for (const response of [await submit("/verify-email", { token: verify }), await submit("/reset-password", { token: reset, password: "a new and unusual passphrase" })]) {
      expect(response.status).toBe(400);
      expect(heading(await response.text())).toBe("This link can no longer be used");
    }
  });

  it("cancel deletion: the POST restores the account", async () => {
    const { account, accessToken } = await registerUser(t);
    const scheduled = await t.request("DELETE", "/auth/me", { password: account.password }, bearer(accessToken));
    expect(scheduled.status).toBe(202);
    const token = tokenFrom(await mailTo(t, account.email, "Your account will be deleted"), "/cancel-deletion");
    expect(heading(await (await show("/cancel-deletion", token)).text())).toBe("Keep your account");
    const kept = await submit("/cancel-deletion", { token });
    expect(kept.status).toBe(200);
    expect(heading(await kept.text())).toBe("Your account will not be deleted");
    expect((await t.request("POST", "/auth/login", { email: account.email, password: account.password })).status).toBe(200);
  });

  it("refuses a form posted from another site, by Fetch Metadata or else by Origin, and leaves the token unspent", async () => {
    const { account } = await registerUser(t);
    const token = await verifyToken(account.email);
    for (const headers of [
      { ...FORM, "sec-fetch-site": "cross-site", origin: "https://evil.example" },
      { ...FORM, "sec-fetch-site": "same-site", origin: "null" },
      { ...FORM, origin: "https://evil.example" },
      { ...FORM, origin: "null" },
    ]) {
      const refused = await submit("/verify-email", { token }, headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.headers.get("content-type")).toMatch(/^text\/html/);
      expect(heading(await refused.text())).toBe("The request origin is not allowed");
    }
    // An older browser names our origin; a client that is no browser names none.
    expect((await submit("/verify-email", { token }, { ...FORM, origin: TEST_ORIGIN })).status).toBe(200);
    expect((await submit("/verify-email", { token: await verifyToken((await registerUser(t)).account.email) }, FORM)).status).toBe(200);
  });

  it("answers a body that is not a form with the invalid-link page, not an error", async () => {
    const response = await submit("/verify-email", {}, { "content-type": "application/json", "sec-fetch-site": "same-origin" });
    expect(response.status).toBe(400);
    expect(heading(await response.text())).toBe("This link can no longer be used");
  });
});

describe("a refusal on a page", () => {
  it("is a page too: a rate-limited confirmation answers 429 in HTML, with Retry-After", async () => {
    const app = await createTestApp({ RATE_LIMIT_VERIFY_IP: "1/900" });
    try {
      const post = () => app.app.request("/verify-email", { method: "POST", headers: FROM_THE_PAGE, body: `token=${"b".repeat(43)}` });
      expect((await post()).status).toBe(400);
      const limited = await post();
      expect(limited.status).toBe(429);
      expect(limited.headers.get("content-type")).toMatch(/^text\/html/);
      expect(limited.headers.get("content-security-policy")).toBe(PAGE_CSP);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(heading(await limited.text())).toBe("Too many requests; try again later");
    } finally {
      await app.close();
    }
  });
});

describe("PUBLIC_UI_URL and the per-link templates", () => {
  it("point the mailed links at the application's pages", async () => {
    const app = await createTestApp({ PUBLIC_UI_URL: "https://app.example.com/account", RESET_PASSWORD_UI_URL: "https://app.example.com/#/reset/{token}" });
    try {
      const { account } = await registerUser(app);
      expect((await mailTo(app, account.email, "Confirm your email address")).text).toMatch(
        /https:\/\/app\.example\.com\/account\/verify-email\?token=[A-Za-z0-9_-]{43}\b/,
      );
      expect((await app.request("POST", "/auth/forgot-password", { email: account.email })).status).toBe(202);
      const reset = await mailTo(app, account.email, "Reset your password");
      expect(reset.text).toMatch(/https:\/\/app\.example\.com\/#\/reset\/[A-Za-z0-9_-]{16,}$/m);
      expect(reset.text).not.toContain(TEST_ORIGIN);
    } finally {
      await app.close();
    }
  });

  it("unset, point them at Servauth's own pages under APP_URL", async () => {
    const { account } = await registerUser(t);
    expect((await mailTo(t, account.email, "Confirm your email address")).text).toContain(`${TEST_ORIGIN}/verify-email?token=`);
  });
});
