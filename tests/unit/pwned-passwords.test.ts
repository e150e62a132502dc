import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPwnedPasswordsCheck } from "../../src/auth/pwned-passwords.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { type FakePwnedPasswords, startFakePwnedPasswords } from "../support/fake-pwned-passwords.ts";

let hibp: FakePwnedPasswords;
const logged: string[] = [];
const logger = createLogger({ level: "warn", destination: { write: (line: string) => void logged.push(line) } });

beforeAll(async () => {
  hibp = await startFakePwnedPasswords({ "violet kettle orbit": 3, "Tr0ub4dor&3": 1_234 }, ["amber kettle orbit"]);
});
afterAll(async () => {
  await hibp.close();
});
beforeEach(() => {
  hibp.behave("normal");
  hibp.requests.length = 0;
  logged.length = 0;
});

const check = (timeoutMs = 1_500) => createPwnedPasswordsCheck({ apiUrl: `${hibp.url}/`, timeoutMs, logger });
const sha1 = (password: string) => createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();

describe("createPwnedPasswordsCheck", () => {
  it("finds a breached password, sending only the first 5 hex digits of its SHA-1", async () => {
    expect(await check()("violet kettle orbit")).toBe(true);
    expect(await check()("Tr0ub4dor&3")).toBe(true);
    const hash = sha1("violet kettle orbit");
    expect(hibp.requests[0]?.path).toBe(`/range/${hash.slice(0, 5)}`);
    expect(hibp.requests[0]?.headers["add-padding"]).toBe("true");
    expect(JSON.stringify(hibp.requests)).not.toContain(hash.slice(5));
    expect(logged).toEqual([]);
  });

  it("is case-sensitive, as the service is", async () => {
    expect(await check()("tr0ub4dor&3")).toBe(false);
  });

  it("misses a password that is not listed", async () => {
    expect(await check()("quiet jade river 1987")).toBe(false);
    expect(hibp.requests).toHaveLength(1);
    expect(logged).toEqual([]);
  });

  it("does not count padding entries (count 0) as breached", async () => {
    expect(await check()("amber kettle orbit")).toBe(false);
  });

  it("fails open on a timeout, within the timeout, and logs a warning", async () => {
    hibp.behave({ delayMs: 5_000 });
    const started = performance.now();
    expect(await check(200)("violet kettle orbit")).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(logged.join("")).toMatch(/Pwned Passwords unreachable or too slow/);
  });

  it("fails open on an error status and logs it", async () => {
    hibp.behave({ status: 503 });
    expect(await check()("violet kettle orbit")).toBe(false);
    expect(JSON.parse(logged[0] ?? "{}")).toMatchObject({ level: 40, component: "hibp", status: 503 });
  });

  it("fails open when nothing listens", async () => {
    const closed = await startFakePwnedPasswords({});
    await closed.close();
    const unreachable = createPwnedPasswordsCheck({ apiUrl: closed.url, timeoutMs: 1_500, logger });
    expect(await unreachable("violet kettle orbit")).toBe(false);
    expect(logged.join("")).toMatch(/unreachable/);
  });
});
