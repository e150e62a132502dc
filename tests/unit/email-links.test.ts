import { describe, expect, it } from "vitest";
import { buildConfig } from "../../src/config/config.ts";
import { ConfigError, parseEnv } from "../../src/config/env.ts";
import { tokenLink } from "../../src/delivery/templates.ts";

const SECRET = "0123456789abcdef0123456789abcdef";
const linksOf = (env: Record<string, string>) => buildConfig(parseEnv({ APP_URL: "https://auth.example.com", ...env }), SECRET).links;

describe("where the links in mail point", () => {
  it("unset: at Servauth's own pages under APP_URL", () => {
    expect(linksOf({})).toEqual({
      verifyEmail: "https://auth.example.com/verify-email?token={token}",
      resetPassword: "https://auth.example.com/reset-password?token={token}",
      cancelDeletion: "https://auth.example.com/cancel-deletion?token={token}",
    });
  });

  it("PUBLIC_UI_URL moves all three to the application's pages, keeping a path prefix", () => {
    expect(linksOf({ PUBLIC_UI_URL: "https://app.example.com/account/" })).toEqual({
      verifyEmail: "https://app.example.com/account/verify-email?token={token}",
      resetPassword: "https://app.example.com/account/reset-password?token={token}",
      cancelDeletion: "https://app.example.com/account/cancel-deletion?token={token}",
    });
  });

  it("a link's own template wins over PUBLIC_UI_URL, and the others stay where they were", () => {
    const links = linksOf({ PUBLIC_UI_URL: "https://app.example.com", RESET_PASSWORD_UI_URL: "https://app.example.com/#/reset/{token}" });
    expect(links.resetPassword).toBe("https://app.example.com/#/reset/{token}");
    expect(links.verifyEmail).toBe("https://app.example.com/verify-email?token={token}");
  });

  it("the token takes the place of {token}, encoded for a URL", () => {
    expect(tokenLink("https://app.example.com/#/reset/{token}", "a/b+c")).toBe("https://app.example.com/#/reset/a%2Fb%2Bc");
  });

  it("refuses a template without {token}, with it twice, or that is not an http(s) URL, naming the variable", () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseEnv(env);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ VERIFY_EMAIL_UI_URL: "https://app.example.com/confirm" })).toEqual([expect.stringMatching(/^VERIFY_EMAIL_UI_URL: must contain "\{token\}"/)]);
    expect(problems({ RESET_PASSWORD_UI_URL: "https://x.example/{token}/{token}" })).toEqual([expect.stringMatching(/^RESET_PASSWORD_UI_URL:/)]);
    expect(problems({ CANCEL_DELETION_UI_URL: "javascript:alert({token})" })).toEqual([expect.stringMatching(/^CANCEL_DELETION_UI_URL: must be an http\(s\) URL/)]);
    expect(problems({ PUBLIC_UI_URL: "app.example.com" })).toEqual([expect.stringMatching(/^PUBLIC_UI_URL:/)]);
  });

  it("refuses a token in the host (it would leave in a DNS lookup), a PUBLIC_UI_URL with a query, and http in production", () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseEnv({ APP_URL: "https://auth.example.com", SMTP_URL: "smtp://mail.example.com", ...env });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ RESET_PASSWORD_UI_URL: "https://{token}.app.example.com/reset" })).toEqual([expect.stringMatching(/^RESET_PASSWORD_UI_URL: "\{token\}" must be in the path/)]);
    expect(problems({ VERIFY_EMAIL_UI_URL: "https://{token}@app.example.com/" })).toEqual([expect.stringMatching(/^VERIFY_EMAIL_UI_URL: "\{token\}" must be in the path/)]);
    expect(problems({ PUBLIC_UI_URL: "https://app.example.com/?x=1" })).toEqual([expect.stringMatching(/^PUBLIC_UI_URL: must be a base URL/)]);
    expect(problems({ NODE_ENV: "production", AUTH_SECRET: SECRET, PUBLIC_UI_URL: "http://app.example.com" })).toEqual([expect.stringMatching(/^PUBLIC_UI_URL: must be an https/)]);
    expect(problems({ NODE_ENV: "production", AUTH_SECRET: SECRET, RESET_PASSWORD_UI_URL: "https://app.example.com/#/reset/{token}" })).toEqual([]);
  });
});
