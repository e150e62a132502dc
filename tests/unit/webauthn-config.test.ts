import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/config.ts";
import { ConfigError, parseEnv } from "../../src/config/env.ts";
import { assuranceOf, provedTwoFactors } from "../../src/sessions/assurance.ts";

const SECRET = "unit-secret-unit-secret-unit-secret-0123";
const webauthnOf = (env: Record<string, string>) => buildConfig(parseEnv(env), SECRET).webauthn;

describe("WebAuthn configuration", () => {
  it("defaults: the RP ID is APP_URL's host; the origins are APP_URL's and CORS_ORIGINS", () => {
    expect(webauthnOf({ APP_URL: "https://login.example.com", CORS_ORIGINS: "https://app.example.com" })).toEqual({
      rpId: "login.example.com",
      rpName: "Servauth",
      origins: ["https://login.example.com", "https://app.example.com"],
      strictCounter: true,
    });
  });

  it("takes the RP ID, name, origins and counter rule from the environment only", () => {
    const config = webauthnOf({
      APP_URL: "https://login.example.com",
      WEBAUTHN_RP_ID: "Example.com",
      WEBAUTHN_RP_NAME: "Example",
      WEBAUTHN_ORIGINS: "https://app.example.com/, https://admin.example.com",
      WEBAUTHN_STRICT_COUNTER: "false",
    });
    expect(config).toEqual({ rpId: "example.com", rpName: "Example", origins: ["https://app.example.com", "https://admin.example.com"], strictCounter: false });
  });

  it.each(["https://example.com", "example.com:443", "example.com/path", "exa mple.com"])("refuses WEBAUTHN_RP_ID=%s", (value) => {
    expect(() => parseEnv({ WEBAUTHN_RP_ID: value })).toThrow(ConfigError);
  });

  it("refuses an explicit origin outside the RP ID, which no browser would use a passkey on", () => {
    expect(() => parseEnv({ APP_URL: "https://login.example.com", WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://app.example.com,https://example.com" })).not.toThrow();
    expect(() => parseEnv({ APP_URL: "https://login.example.com", WEBAUTHN_ORIGINS: "https://app.example.com" })).toThrow(/app\.example\.com is not login\.example\.com/);
    expect(() => parseEnv({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: "https://notexample.com" })).toThrow(/WEBAUTHN_ORIGINS/);
  });

  it("refuses an origin that is not one", () => {
    expect(() => parseEnv({ WEBAUTHN_ORIGINS: "app.example.com" })).toThrow(/WEBAUTHN_ORIGINS/);
  });
});

describe("a passkey's assurance", () => {
  it("a key with the user verified is two factors (aal 2); a key alone is one", () => {
    expect(assuranceOf(["hwk", "user"], new Date(0))).toMatchObject({ amr: ["hwk", "user", "mfa"], aal: 2 });
    expect(assuranceOf(["swk"], new Date(0))).toMatchObject({ amr: ["swk"], aal: 1 });
    expect(provedTwoFactors(["swk", "user"])).toBe(true);
    expect(assuranceOf(["pwd", "hwk"], new Date(0)).aal).toBe(2);
  });
});
