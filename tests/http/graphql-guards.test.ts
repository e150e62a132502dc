import { createHash } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { codesOf, graphql } from "../support/graphql.ts";
import { createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/** Issue 21: what /graphql refuses before anything runs, each with a stable code. */
const STRICT = { accept: "application/graphql-response+json" };

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await createTestApp({ GRAPHQL_MAX_COST: "150" });
  token = (await registerUser(t)).accessToken;
});
afterAll(async () => {
  await t.close();
});

/** `me` with `id` under `levels` nested inline fragments: the schema has no cycle, so depth is built this way. */
const deepMe = (levels: number) => `{ me { ${"... on Me { ".repeat(levels)}id${" }".repeat(levels)} } }`;

describe("limits", () => {
  it("refuses a query deeper than GRAPHQL_MAX_DEPTH with GRAPHQL_DEPTH_LIMIT, and runs nothing", async () => {
    expect(codesOf(await graphql(t, deepMe(8), { token }))).not.toContain("GRAPHQL_DEPTH_LIMIT");
    const answer = await graphql(t, deepMe(9), { token, headers: STRICT });
    expect(codesOf(answer)).toEqual(["GRAPHQL_DEPTH_LIMIT"]);
    expect(answer.status).toBe(400);
    expect(answer.data).toBeUndefined();
  });

  it("refuses more than GRAPHQL_MAX_ALIASES aliases with GRAPHQL_ALIAS_LIMIT", async () => {
    const aliases = (n: number) => `{ me { ${Array.from({ length: n }, (_, i) => `a${i}: id`).join(" ")} } }`;
    expect((await graphql(t, aliases(15), { token })).errors).toBeUndefined();
    expect(codesOf(await graphql(t, aliases(16), { token }))).toEqual(["GRAPHQL_ALIAS_LIMIT"]);
  });

  it("refuses a query costlier than GRAPHQL_MAX_COST with GRAPHQL_COST_LIMIT", async () => {
    const fields = "id createdAt lastActiveAt expiresAt ipAddress userAgent amr aal authTime impersonated current";
    const costly = `{ ${["a", "b", "c", "d", "e", "f"].map((alias) => `${alias}: me { sessions { ${fields} } }`).join(" ")} }`;
    expect(codesOf(await graphql(t, costly, { token }))).toEqual(["GRAPHQL_COST_LIMIT"]);
    expect((await graphql(t, `{ me { sessions { ${fields} } } }`, { token })).errors).toBeUndefined();
  });

  it("refuses a document of more than GRAPHQL_MAX_TOKENS tokens with GRAPHQL_TOKEN_LIMIT, and too many directives with GRAPHQL_DIRECTIVE_LIMIT", async () => {
    expect(codesOf(await graphql(t, `{ ${"__typename ".repeat(1000)} }`, { token }))).toEqual(["GRAPHQL_TOKEN_LIMIT"]);
    expect(codesOf(await graphql(t, `{ __typename ${"@include(if: true) ".repeat(11)} }`, { token }))).toEqual(["GRAPHQL_DIRECTIVE_LIMIT"]);
  });

  it("a document that does not parse or validate is GRAPHQL_VALIDATION_FAILED, without field suggestions", async () => {
    expect(codesOf(await graphql(t, "{ me { ", { token }))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    const unknown = await graphql(t, "{ me { emial } }", { token });
    expect(codesOf(unknown)).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    expect(unknown.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});

describe("HTTP rules", () => {
  it("a mutation over GET is 405 METHOD_NOT_ALLOWED, and so is any method but GET and POST", async () => {
    const get = await t.request("GET", `/graphql?query=${encodeURIComponent("mutation { logout }")}`, undefined, { authorization: `Bearer ${token}`, "x-graphql-yoga-csrf": "1" });
    expect(get.status).toBe(405);
    expect(((await get.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("METHOD_NOT_ALLOWED");
    expect((await t.request("GET", "/auth/me", undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
    const put = await t.request("PUT", "/graphql", { query: "{ __typename }" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");
  });

  it("a query over GET needs yoga's CSRF-prevention header (CSRF_REJECTED without it)", async () => {
    const url = `/graphql?query=${encodeURIComponent("{ me { id } }")}`;
    const bare = await t.request("GET", url, undefined, { authorization: `Bearer ${token}` });
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("CSRF_REJECTED");
    const withHeader = await t.request("GET", url, undefined, { authorization: `Bearer ${token}`, "x-graphql-yoga-csrf": "1" });
    expect(withHeader.status).toBe(200);
  });

  it("a cookie-authenticated POST without Origin (or from another origin) is CSRF_REJECTED; from an allowed origin it runs", async () => {
    const { cookies } = await registerUser(t);
    const cookie = Object.entries(cookies).map(([name, value]) => `${name}=${value}`).join("; ");
    const query = { query: "mutation { revokeOtherSessions }" };
    const noOrigin = await t.request("POST", "/graphql", query, { cookie });
    expect(noOrigin.status).toBe(403);
    expect(((await noOrigin.json()) as { code: string }).code).toBe("CSRF_REJECTED");
    expect((await t.request("POST", "/graphql", query, { cookie, origin: "https://evil.example" })).status).toBe(403);
    const allowed = await t.request("POST", "/graphql", query, { cookie, origin: TEST_ORIGIN });
    expect(await allowed.json()).toEqual({ data: { revokeOtherSessions: 0 } });
  });

  it("refuses a body over the app's limit (64 KiB) with 413 PAYLOAD_TOO_LARGE, as REST does, with or without Content-Length", async () => {
    const big = JSON.stringify({ query: "{ __typename }", variables: { padding: "x".repeat(70 * 1024) } });
    const declared = await t.request("POST", "/graphql", big, { authorization: `Bearer ${token}` });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await t.app.request("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers with the app's security headers and request id", async () => {
    const response = await t.request("POST", "/graphql", { query: "{ __typename }" });
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

describe("an unexpected error in a resolver", () => {
  it("is answered INTERNAL_ERROR with no detail, and logged in full", async () => {
    const lines: Array<{ msg: string; err?: { message: string; stack?: string }; path?: { key: string } }> = [];
    const logger = createLogger({ level: "error", destination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) } });
    const app = await createTestApp({}, { logger });
    onTestFinished(() => app.close());
    const { accessToken } = await registerUser(app);
    // A fault no code path expects (a bug, a driver error): the resolver's service throws a plain Error.
    const fault = new Error("relation internal_table does not exist at 10.0.0.7:5432");
    vi.spyOn(app.services.linkedAccounts, "list").mockRejectedValueOnce(fault);

    const response = await app.request("POST", "/graphql", { query: "{ me { id linkedAccounts { id } } }" }, { authorization: `Bearer ${accessToken}` });
    const text = await response.text();
    const { errors } = JSON.parse(text) as { errors: Array<{ message: string; path: string[]; extensions: Record<string, unknown> }> };
    expect(errors).toHaveLength(1);
    expect(errors[0]?.extensions.code).toBe("INTERNAL_ERROR");
    expect(errors[0]?.path).toEqual(["me", "linkedAccounts"]);
    expect(text).not.toContain("internal_table");
    expect(text).not.toContain("10.0.0.7");
    expect(text).not.toMatch(/stack|originalError|\.ts:\d+/);

    const logged = lines.find((line) => line.msg === "unhandled GraphQL error");
    expect(logged?.err?.message).toBe(fault.message);
    expect(logged?.err?.stack).toContain("graphql-guards.test.ts");
  });
});

describe("introspection, persisted operations and the cost budget", () => {
  it("introspection works outside production and is GRAPHQL_INTROSPECTION_DISABLED in production unless GRAPHQL_INTROSPECTION=true", async () => {
    expect((await graphql(t, "{ __schema { queryType { name } } }")).data).toEqual({ __schema: { queryType: { name: "Query" } } });
    const production = await createTestApp({ NODE_ENV: "production", AUTH_SECRET: "x".repeat(40), MAIL_TRANSPORT: "log" });
    const optedIn = await createTestApp({ NODE_ENV: "production", AUTH_SECRET: "x".repeat(40), MAIL_TRANSPORT: "log", GRAPHQL_INTROSPECTION: "true" });
    try {
      expect(codesOf(await graphql(production, "{ __schema { types { name } } }"))).toEqual(["GRAPHQL_INTROSPECTION_DISABLED"]);
      expect(codesOf(await graphql(production, '{ __type(name: "Me") { name } }'))).toEqual(["GRAPHQL_INTROSPECTION_DISABLED"]);
      expect((await graphql(production, "{ __typename }")).data).toEqual({ __typename: "Query" });
      expect((await graphql(optedIn, "{ __schema { queryType { name } } }")).errors).toBeUndefined();
    } finally {
      await production.close();
      await optedIn.close();
    }
  });

  it("runs a listed persisted operation by hash, refuses an unknown hash, and with GRAPHQL_PERSISTED_ONLY refuses documents", async () => {
    const document = "query Me { me { id } }";
    const hash = createHash("sha256").update(document).digest("hex");
    const file = path.join(await mkdtemp(path.join(tmpdir(), "servauth-gql-")), "operations.json");
    await writeFile(file, JSON.stringify({ [hash]: document }));
    const strict = await createTestApp({ GRAPHQL_PERSISTED_OPERATIONS_FILE: file, GRAPHQL_PERSISTED_ONLY: "true" });
    try {
      const { accessToken, user } = await registerUser(strict);
      const persisted = (sha256Hash: string) => ({ token: accessToken, extensions: { persistedQuery: { version: 1, sha256Hash } } });
      expect((await graphql(strict, "", persisted(hash))).data).toEqual({ me: { id: user.id } });
      expect(codesOf(await graphql(strict, "", persisted("0".repeat(64))))).toEqual(["GRAPHQL_PERSISTED_OPERATION_NOT_FOUND"]);
      expect(codesOf(await graphql(strict, document, { token: accessToken }))).toEqual(["GRAPHQL_PERSISTED_ONLY"]);
    } finally {
      await strict.close();
    }
  });

  it("spends each operation's cost from the session's budget and refuses RATE_LIMITED with Retry-After past it", async () => {
    const budgeted = await createTestApp({ RATE_LIMIT_GRAPHQL_COST_SESSION: "40/60" });
    try {
      const { accessToken } = await registerUser(budgeted);
      const other = await registerUser(budgeted);
      const query = "{ me { id email username roles } }";
      const answers = [];
      for (let i = 0; i < 6; i += 1) answers.push(await graphql(budgeted, query, { token: accessToken }));
      const refused = answers.filter((answer) => codesOf(answer).includes("RATE_LIMITED"));
      expect(refused.length).toBeGreaterThan(0);
      expect(answers[0]?.errors).toBeUndefined();
      expect(refused[0]?.status).toBe(429);
      expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await graphql(budgeted, query, { token: other.accessToken })).errors).toBeUndefined();
    } finally {
      await budgeted.close();
    }
  });
});

describe("GraphiQL", () => {
  const asBrowser = { accept: "text/html" };

  it("is served to browsers in development, bundled: the page and its policy name no outside host", async () => {
    const development = await createTestApp({ NODE_ENV: "development" });
    try {
      const page = await development.request("GET", "/graphql", undefined, asBrowser);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const policy = page.headers.get("content-security-policy") ?? "";
      expect(policy).toContain("default-src 'none'");
      expect(policy).not.toMatch(/https?:/);
      const html = await page.text();
      expect(html).toContain("renderYogaGraphiQL");
      expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    } finally {
      await development.close();
    }
  });

  it("is not served outside development", async () => {
    const page = await t.request("GET", "/graphql", undefined, asBrowser);
    expect(page.headers.get("content-type") ?? "").not.toMatch(/^text\/html/);
  });
});
