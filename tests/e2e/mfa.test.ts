import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { codeIn } from "../support/otp.ts";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { type SmtpCapture, startSmtpCapture } from "../support/smtp-capture.ts";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * Issue 15 over TCP on Bun and Node, with the codes read from mail delivered to a real SMTP server: a password
 * sign-in answers MFA_REQUIRED and a mailed second-factor code finishes it; an authenticator app is set up and
 * finishes the next one. On the embedded database, and on a PostgreSQL server when TEST_DATABASE_URL is set.
 */
const PASSWORD = "correct horse battery staple";
let counter = 0;
const newEmail = () => `mfa-${Date.now().toString(36)}-${++counter}@example.com`;

let smtp: SmtpCapture;
beforeAll(async () => {
  smtp = await startSmtpCapture();
});
afterAll(async () => {
  await smtp.close();
});

const ADMIN_URL = process.env.TEST_DATABASE_URL;
const setups = e2eRuntimes().flatMap((runtime) => [
  { runtime, database: "embedded" as const },
  ...(ADMIN_URL === undefined ? [] : [{ runtime, database: "postgres" as const }]),
]);

describe.each<{ runtime: Runtime; database: "embedded" | "postgres" }>(setups)("second factors on $runtime, $database database", ({ runtime, database }) => {
  let server: SpawnedServer | undefined;
  let scratch: ScratchDatabase | undefined;
  const running = () => {
    if (server === undefined) throw new Error("the server did not start");
    return server;
  };
  beforeAll(async () => {
    if (database === "postgres") scratch = await createScratchDatabase(ADMIN_URL ?? "");
    server = await spawnServer({ runtime, env: { SMTP_URL: smtp.url }, ...(scratch === undefined ? {} : { databaseUrl: scratch.url }) });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await scratch?.drop();
  });

  async function call(method: string, route: string, body?: unknown, token?: string) {
    const response = await fetch(`${running().url}${route}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    return { response, json: (await response.json().catch(() => null)) as Record<string, unknown> | null };
  }

  /** The code in the next mail to `to` with this subject that was not read before. */
  const seen = new Set<unknown>();
  async function mailedCode(to: string, subject: string): Promise<string> {
    const mail = await smtp.waitFor(to, (candidate) => candidate.subject === subject && !seen.has(candidate));
    seen.add(mail);
    return codeIn(mail);
  }

  /** Registers, confirms the address with a mailed code (second factors need a verified address); returns the token. */
  async function verifiedAccount(email: string): Promise<string> {
    const registered = await call("POST", "/auth/register", { email, password: PASSWORD });
    expect(registered.response.status).toBe(201);
    const token = registered.json?.accessToken as string;
    const created = await call("POST", "/auth/otp/create", { channel: "email", to: email, purpose: "verify-email" }, token);
    expect(created.response.status).toBe(200);
    const code = await mailedCode(email, "Your verification code");
    expect((await call("POST", "/auth/otp/verify", { challenge: created.json?.challenge, code }, token)).response.status).toBe(200);
    return token;
  }

  async function loginExpectingMfa(email: string) {
    const { response, json } = await call("POST", "/auth/login", { email, password: PASSWORD });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(json).toMatchObject({ code: "MFA_REQUIRED" });
    return json as { mfaToken: string; methods: string[] };
  }

  async function expectAal2(response: Response, json: Record<string, unknown> | null, secondMethod: string) {
    expect(response.status, JSON.stringify(json)).toBe(200);
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith("servauth.session="))).toBe(true);
    const me = await call("GET", "/auth/me", undefined, json?.accessToken as string);
    expect(me.json?.session).toMatchObject({ amr: ["pwd", secondMethod, "mfa"], aal: 2 });
  }

  test("password, then MFA_REQUIRED, then a code from the mail: an aal 2 session", async () => {
    const email = newEmail();
    const token = await verifiedAccount(email);
    expect((await call("POST", "/auth/mfa/email/enable", undefined, token)).response.status).toBe(202);
    const confirmed = await call("POST", "/auth/mfa/email/confirm", { code: await mailedCode(email, "Confirm email as your second factor") }, token);
    expect(confirmed.response.status).toBe(200);
    expect(confirmed.json?.recoveryCodes).toHaveLength(10);

    const { mfaToken, methods } = await loginExpectingMfa(email);
    expect(methods).toEqual(["email", "recovery_code"]);
    expect((await call("POST", "/auth/mfa/challenge", { mfaToken, method: "email" })).response.status).toBe(202);
    const code = await mailedCode(email, "Your sign-in verification code");
    const { response, json } = await call("POST", "/auth/mfa/verify", { mfaToken, method: "email", code });
    await expectAal2(response, json, "email");
  }, 30_000);

  test("an authenticator app is set up with its code and finishes the next sign-in", async () => {
    const email = newEmail();
    const token = await verifiedAccount(email);
    const setup = await call("POST", "/auth/mfa/totp/setup", undefined, token);
    expect(setup.response.status).toBe(200);
    expect(setup.json?.qrCodeSvg).toMatch(/^<svg/);
    const secret = Secret.fromBase32(setup.json?.secret as string);
    const confirmed = await call("POST", "/auth/mfa/totp/confirm", { code: TOTP.generate({ secret, timestamp: Date.now() }) }, token);
    expect(confirmed.response.status).toBe(200);

    const { mfaToken, methods } = await loginExpectingMfa(email);
    expect(methods).toEqual(["totp", "recovery_code"]);
    // The confirming code's step is spent; the next step's code is inside the one-step drift window.
    const next = TOTP.generate({ secret, timestamp: Date.now() + 30_000 });
    const { response, json } = await call("POST", "/auth/mfa/verify", { mfaToken, method: "totp", code: next });
    await expectAal2(response, json, "otp");
    const replayed = await call("POST", "/auth/mfa/verify", { mfaToken, method: "totp", code: next });
    expect(replayed.json).toMatchObject({ code: "MFA_CHALLENGE_INVALID" });
  }, 30_000);
});
