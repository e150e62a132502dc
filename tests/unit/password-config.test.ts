import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/config.ts";
import { ConfigError, parseEnv } from "../../src/config/env.ts";

const SECRET = "s".repeat(32);
const passwordsOf = (env: Record<string, string>) => buildConfig(parseEnv(env), SECRET).passwords;

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("password settings", () => {
  it("default to a minimum of 8 and no online check", () => {
    expect(passwordsOf({})).toEqual({ minLength: 8, hibp: null });
  });

  it("take PASSWORD_MIN_LENGTH and the HIBP variables", () => {
    expect(passwordsOf({ PASSWORD_MIN_LENGTH: "15", HIBP_ENABLED: "true" })).toEqual({
      minLength: 15,
      hibp: { apiUrl: "https://api.pwnedpasswords.com", timeoutMs: 1_500 },
    });
    expect(passwordsOf({ HIBP_ENABLED: "1", HIBP_API_URL: "http://127.0.0.1:8089", HIBP_TIMEOUT_MS: "500" }).hibp).toEqual({
      apiUrl: "http://127.0.0.1:8089",
      timeoutMs: 500,
    });
    expect(passwordsOf({ HIBP_ENABLED: "false", HIBP_API_URL: "http://127.0.0.1:8089" }).hibp).toBeNull();
  });

  it.each([
    ["PASSWORD_MIN_LENGTH", "7"],
    ["PASSWORD_MIN_LENGTH", "129"],
    ["PASSWORD_MIN_LENGTH", "ten"],
    ["HIBP_ENABLED", "yes"],
    ["HIBP_API_URL", "ftp://example.com"],
    ["HIBP_TIMEOUT_MS", "50"],
  ])("refuses %s=%s", (name, value) => {
    expect(problemsOf({ [name]: value }).map((problem) => problem.split(":")[0])).toEqual([name]);
  });
});
