import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium package; .ci/run installs it. Without it the browser tier is skipped. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM_PATH);

/** Headless, and quiet: no first-run UI, no traffic of its own (updates, sync, background fetches) during a test. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type TestBrowser = {
  context: BrowserContext;
  /** A new tab that records what a test usually wants to assert on afterwards (see PageLog). */
  newPage(): Promise<{ page: Page; log: PageLog }>;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
};

/**
 * What a page did besides rendering: CSP violations, script errors, and every request it sent with its headers, so a
 * test can check what left the page (a Referer, a token in a URL).
 */
export type PageLog = {
  /** What Chromium reports when the page's CSP blocks something ("Refused to ... Content Security Policy ..."). */
  cspViolations: string[];
  /** Uncaught exceptions of the page's scripts. */
  pageErrors: string[];
  /** Headers as sent, Referer and Origin included (playwright reads them from the network stack, hence a promise). */
  requests: Array<{ method: string; url: string; headers: Promise<Record<string, string>> }>;
};

/** Chromium from CHROMIUM_PATH, driven by playwright-core, with a fresh profile (no cookies, no cache) of its own. */
export async function launchBrowser(): Promise<TestBrowser> {
  const userDataDir = await mkdtemp(path.join(tmpdir(), "servauth-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const log: PageLog = { cspViolations: [], pageErrors: [], requests: [] };
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) log.cspViolations.push(message.text());
      });
      page.on("pageerror", (error) => log.pageErrors.push(error.message));
      page.on("request", (request) => log.requests.push({ method: request.method(), url: request.url(), headers: request.allHeaders() }));
      return { page, log };
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
