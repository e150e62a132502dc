import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/** Issue 21: /graphql on the real server over TCP, on each runtime: a query, a mutation, and the refusals a client meets. */
const PASSWORD = "correct horse battery staple";

type GraphqlBody = { data?: Record<string, unknown> | null; errors?: Array<{ extensions: { code: string } }> };

describe.each<Runtime>(e2eRuntimes())("GraphQL on %s", (runtime) => {
  let dataDir: string;
  let server: SpawnedServer | undefined;
  let url: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), `servauth-e2e-graphql-${runtime}-`));
    server = await spawnServer({ runtime, dataDir });
    url = server.url;
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const ask = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as GraphqlBody };
  };

  test("a signed-in client reads itself and signs out; the refusals carry their codes", async () => {
    const email = `e2e-graphql-${runtime}-${Date.now().toString(36)}@example.com`;
    const registered = await fetch(`${url}/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(registered.status).toBe(201);
    const { accessToken } = (await registered.json()) as { accessToken: string };
    const auth = { authorization: `Bearer ${accessToken}` };

    const me = await ask({ query: "{ me { email roles sessions { current } } }" }, auth);
    expect(me).toEqual({ status: 200, body: { data: { me: { email, roles: ["user"], sessions: [{ current: true }] } } } });
    expect((await ask({ query: "{ me { id } }" })).body.errors?.[0]?.extensions.code).toBe("UNAUTHENTICATED");
    expect((await ask({ query: `{ me { ${"... on Me { ".repeat(11)}id${" }".repeat(11)} } }` }, auth)).body.errors?.[0]?.extensions.code).toBe("GRAPHQL_DEPTH_LIMIT");

    const viaGet = await fetch(`${url}/graphql?query=${encodeURIComponent("mutation { logout }")}`, { headers: { ...auth, "x-graphql-yoga-csrf": "1" } });
    expect(viaGet.status).toBe(405);
    expect((await ask({ query: "mutation { logout }" }, auth)).body).toEqual({ data: { logout: true } });
    const after = await ask({ query: "{ me { id } }" }, auth);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions.code).toBe("UNAUTHENTICATED");
  });
});
