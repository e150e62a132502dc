import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../src/config/env.ts";

const problemsOf = (env: Record<string, string>) => {
  try {
    parseEnv(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

const generic = { OAUTH_PROVIDERS: "corp", OAUTH_CORP_CLIENT_ID: "id", OAUTH_CORP_CLIENT_SECRET: "secret" };

describe("social-login configuration", () => {
  it("reads presets and a generic OpenID Connect provider", () => {
    const env = parseEnv({
      OAUTH_PROVIDERS: "google, github, corp",
      OAUTH_GOOGLE_CLIENT_ID: "g",
      OAUTH_GOOGLE_CLIENT_SECRET: "gs",
      OAUTH_GITHUB_CLIENT_ID: "h",
      OAUTH_GITHUB_CLIENT_SECRET: "hs",
      OAUTH_CORP_CLIENT_ID: "c",
      OAUTH_CORP_CLIENT_SECRET: "cs",
      OAUTH_CORP_ISSUER: "https://login.corp.example",
    });
    expect(env.oauthProviders.map((provider) => [provider.id, provider.kind])).toEqual([["google", "oidc"], ["github", "github"], ["corp", "oidc"]]);
    expect(env.oauthProviders[0]).toMatchObject({ issuer: "https://accounts.google.com", allowInsecure: false, emailDomains: "*" });
  });

  it("refuses an http issuer that is not a loopback address, and any http issuer in production", () => {
    expect(problemsOf({ ...generic, OAUTH_CORP_ISSUER: "http://login.corp.example" })).toEqual([expect.stringMatching(/^OAUTH_CORP_ISSUER: must be an https:\/\/ URL/)]);
    expect(problemsOf({ ...generic, OAUTH_CORP_ISSUER: "http://127.0.0.2.example.com" })).toHaveLength(1);
    expect(problemsOf({ ...generic, OAUTH_CORP_ISSUER: "http://127.0.0.1:9000" })).toEqual([]);
    expect(problemsOf({ ...generic, OAUTH_CORP_ISSUER: "http://[::1]:9000" })).toEqual([]);
    const production = { NODE_ENV: "production", AUTH_SECRET: "x".repeat(32), APP_URL: "https://auth.example.com", MAIL_TRANSPORT: "log" };
    expect(problemsOf({ ...production, ...generic, OAUTH_CORP_ISSUER: "http://127.0.0.1:9000" })).toEqual([expect.stringMatching(/^OAUTH_CORP_ISSUER:/)]);
  });

  it("names every missing or bad provider variable", () => {
    expect(problemsOf({ OAUTH_PROVIDERS: "corp,microsoft,apple,credential" })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OAUTH_PROVIDERS: "credential"/),
      ]),
    );
    const problems = problemsOf({ OAUTH_PROVIDERS: "corp,microsoft,apple", OAUTH_MICROSOFT_TENANT: "contoso.onmicrosoft.com", OAUTH_APPLE_TEAM_ID: "T" });
    expect(problems).toEqual(
      expect.arrayContaining([
        "OAUTH_CORP_CLIENT_ID: must be set for provider corp",
        "OAUTH_CORP_ISSUER: must be set for the OpenID Connect provider corp",
        "OAUTH_MICROSOFT_TENANT: must be the directory (tenant) id of provider microsoft, a GUID, or common, organizations or consumers",
        expect.stringMatching(/^OAUTH_APPLE_TEAM_ID, OAUTH_APPLE_KEY_ID, OAUTH_APPLE_PRIVATE_KEY: set all three/),
      ]),
    );
  });

  it("refuses OIDC scopes without openid, and plain-http redirect targets on the network in production", () => {
    expect(problemsOf({ ...generic, OAUTH_CORP_ISSUER: "https://login.corp.example", OAUTH_CORP_SCOPES: "email profile" })).toEqual([
      "OAUTH_CORP_SCOPES: must include openid for the OpenID Connect provider corp",
    ]);
    const production = { NODE_ENV: "production", AUTH_SECRET: "x".repeat(32), APP_URL: "https://auth.example.com", MAIL_TRANSPORT: "log" };
    expect(problemsOf({ ...production, OAUTH_REDIRECT_ALLOWLIST: "http://app.example.com" })).toEqual([expect.stringMatching(/^OAUTH_REDIRECT_ALLOWLIST: "http:\/\/app.example.com" must be https/)]);
    expect(problemsOf({ ...production, OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com, http://127.0.0.1:8123/cb, com.example.app:/oauth" })).toEqual([]);
  });

  it("refuses allowlist entries that are not absolute URLs or carry user info", () => {
    expect(problemsOf({ OAUTH_REDIRECT_ALLOWLIST: "app.example.com" })).toHaveLength(1);
    expect(problemsOf({ OAUTH_REDIRECT_ALLOWLIST: "https://u@app.example.com" })).toHaveLength(1);
    expect(problemsOf({ OAUTH_REDIRECT_ALLOWLIST: "https://app.example.com/auth/, com.example.app:/oauth" })).toEqual([]);
  });
});
