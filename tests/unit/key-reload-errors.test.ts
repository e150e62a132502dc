import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { createOtpKeyBox, loadOtpKeys, OTP_KEY_RELOAD_MS, rotateOtpKey } from "../../src/otp/otp-keys.ts";
import { createSigningKeyBox, loadSigningKeys, RELOAD_INTERVAL_MS, rotateSigningKey } from "../../src/tokens/signing-keys.ts";
import { openTestDatabase, type TestDatabase } from "../support/test-database.ts";

/**
 * The periodic key reloads keep the loaded keys when they fail, and say so: a key this instance cannot open (here,
 * one added by an instance with another AUTH_SECRET) must show in the log, not be swallowed.
 */
const SECRET = "key-reload-secret-key-reload-secret-0123";
const OTHER_SECRET = "another-secret-another-secret-another-01";
let database: TestDatabase;
const logged: string[] = [];
const logger = createLogger({ level: "error", destination: { write: (line: string) => void logged.push(line) } });

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database.close();
});
afterEach(() => {
  vi.useRealTimers();
  logged.length = 0;
});

/** Only the reload timer is faked: the database and its promises run for real. */
const fakeIntervals = () => vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
const errorsMentioning = (text: string) => logged.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.msg.includes(text));

it("logs a failed signing-key reload and keeps signing with the loaded key", async () => {
  fakeIntervals();
  const options = { accessTtlSeconds: 900 };
  const keys = await loadSigningKeys(database.handle, createSigningKeyBox(SECRET), options, logger);
  try {
    const current = keys.current().kid;
    await rotateSigningKey(database.handle, createSigningKeyBox(OTHER_SECRET), options);
    vi.advanceTimersByTime(RELOAD_INTERVAL_MS);
    await vi.waitFor(() => expect(errorsMentioning("signing keys not reloaded")).toHaveLength(1));
    expect(errorsMentioning("signing keys not reloaded")[0]?.level).toBe(50);
    expect(keys.current().kid).toBe(current);
  } finally {
    keys.close();
  }
});

it("logs a failed OTP key reload and keeps sealing with the loaded key", async () => {
  fakeIntervals();
  const options = { rotationDays: 30, challengeTtlSeconds: 300 };
  const keys = await loadOtpKeys(database.handle, createOtpKeyBox(SECRET), options, logger);
  try {
    const current = keys.current().kid;
    await rotateOtpKey(database.handle, createOtpKeyBox(OTHER_SECRET), options);
    vi.advanceTimersByTime(OTP_KEY_RELOAD_MS);
    await vi.waitFor(() => expect(errorsMentioning("OTP keys not rotated or reloaded")).toHaveLength(1));
    expect(keys.current().kid).toBe(current);
  } finally {
    keys.close();
  }
});
