import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServauthClient, signInAndReadProfile } from "../../docs/examples/typed-client.ts";
import { EMAIL_LINK_PATHS } from "../../src/config/config.ts";
import { ERROR_CODES, type ErrorCode } from "../../src/errors.ts";
import { createTestApp, registerUser, type TestApp } from "../support/test-app.ts";

type ProblemExample = { value: { code: string; status: number; title: string; type: string } };
type MediaType = { schema?: { $ref?: string }; examples?: Record<string, ProblemExample> };
type Operation = { security?: unknown[]; responses: Record<string, { description: string; content?: Record<string, MediaType> }> };
type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown> };
};

/** Served by the app but not part of the API they describe: the description, its viewer, the pages behind mailed links. */
const PAGES = new Set(Object.values(EMAIL_LINK_PATHS));
// GraphQL describes itself: schema.graphql (docs/graphql.md), not the OpenAPI document.
const NOT_API = (path: string) => path === "/openapi.json" || path === "/docs" || path.startsWith("/docs/") || path === "/graphql" || PAGES.has(path);

let t: TestApp;
let document: OpenApiDocument;
beforeAll(async () => {
  t = await createTestApp();
  const response = await t.request("GET", "/openapi.json");
  expect(response.status).toBe(200);
  document = (await response.json()) as OpenApiDocument;
});
afterAll(async () => {
  await t.close();
});

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("describes every route the app serves, with its method", () => {
    const served = new Set<string>();
    for (const route of t.app.routes) {
      // app.use() entries are middleware (method ALL); OPTIONS is answered by the CORS middleware.
      if (route.method === "ALL" || route.method === "OPTIONS" || NOT_API(route.path)) continue;
      served.add(`${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
    }
    const described = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)),
    );
    expect(served.size).toBeGreaterThan(10);
    expect([...served].filter((route) => !described.has(route)), "served but not described").toEqual([]);
    expect([...described].filter((route) => !served.has(route)), "described but not served").toEqual([]);
  });

  it("declares the bearer, cookie and client security schemes, and every error answer is a Problem (RFC 6749's shape on /oauth2)", () => {
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(["bearer", "clientSecretBasic", "sessionCookie"]);
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const schema = isOAuthAnswer(path, status) ? response.content?.["application/json"]?.schema : response.content?.["application/problem+json"]?.schema;
          expect(schema?.$ref, `${method} ${path} ${status}`).toBe(isOAuthAnswer(path, status) ? "#/components/schemas/OAuthError" : "#/components/schemas/Problem");
        }
        if (operation.security !== undefined) {
          expect(operation.security, `${method} ${path}`).toContainEqual(path.startsWith("/oauth2/") ? { clientSecretBasic: [] } : { bearer: [] });
        }
      }
    }
  });
});

/** The OAuth 2.0 endpoints answer their client errors in RFC 6749 section 5.2's shape, not as problems. */
const isOAuthAnswer = (path: string, status: string) => path.startsWith("/oauth2/") && (status === "400" || status === "401");

describe("the error examples of /openapi.json", () => {
  const problemResponses = () =>
    Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.entries(operation.responses)
          .filter(([status]) => Number(status) >= 400 && !isOAuthAnswer(path, status))
          .map(([status, response]) => ({ where: `${method.toUpperCase()} ${path} ${status}`, status: Number(status), response })),
      ),
    );

  it("show, for every error answer, one example per code the route answers with that status, and only such codes", () => {
    const wrong: string[] = [];
    for (const { where, status, response } of problemResponses()) {
      const examples = Object.entries(response.content?.["application/problem+json"]?.examples ?? {});
      if (examples.length === 0) wrong.push(`${where}: no example ("${response.description}")`);
      for (const [name, { value }] of examples) {
        if (value.status !== status || value.code !== name) wrong.push(`${where}: ${name} answers ${value.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("are problem documents as the server renders them", () => {
    const login = document.paths["/auth/login"]?.post?.responses["403"]?.content?.["application/problem+json"]?.examples ?? {};
    expect(Object.keys(login).sort()).toEqual(["ACCOUNT_BANNED", "ACCOUNT_PENDING_DELETION", "CSRF_REJECTED", "MFA_REQUIRED"]);
    for (const [code, { value }] of Object.entries(login)) {
      expect(value).toMatchObject({ type: `urn:servauth:error:${code}`, title: ERROR_CODES[code as ErrorCode].title, status: 403, code });
    }
  });
});

describe("GET /docs", () => {
  it("serves an interactive reference whose every asset comes from this server, under a CSP that allows them", async () => {
    const page = await t.request("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("'unsafe-");
    const html = await page.text();
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(html).not.toMatch(/<script>/);

    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets.length).toBe(3);
    for (const asset of assets) {
      // Relative to /docs, as a browser resolves it.
      const url = new URL(asset, "http://localhost/docs");
      const response = await t.request("GET", url.pathname);
      expect(response.status, url.pathname).toBe(200);
      expect(response.headers.get("content-type"), url.pathname).toMatch(/^text\/(javascript|css)/);
      expect((await response.text()).length).toBeGreaterThan(0);
    }
    const init = await (await t.request("GET", "/docs/init.js")).text();
    expect(init).toContain('url: "openapi.json"');
    expect(init).toContain("validatorUrl: null");
  });

  it("sends /docs/ to /docs, where the page's relative links resolve", async () => {
    const response = await t.request("GET", "/docs/");
    expect(response.status).toBe(301);
    expect(new URL(response.headers.get("location") ?? "", "http://localhost/docs/").pathname).toBe("/docs");
  });

  it("leaves the API's own policy alone", async () => {
    const response = await t.request("GET", "/health");
    expect(response.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
  });
});

describe("the typed client example (docs/examples/typed-client.ts)", () => {
  it("signs in, reads the profile and signs out through hc<AppType>", async () => {
    const { account, user } = await registerUser(t);
    const client = createServauthClient("http://localhost:3000", { fetch: t.app.request });
    const result = await signInAndReadProfile(client, account.email, account.password);
    expect(result.user.id).toBe(user.id);
    expect(result.loggedOut).toBe(true);
  });
});
