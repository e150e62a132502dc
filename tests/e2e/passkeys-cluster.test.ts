import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../support/scratch-database.ts";
import { createSoftAuthenticator } from "../support/soft-authenticator.ts";
import { type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * WebAuthn challenges live in the database, not in a process: options handed out by one instance are completed on
 * another (a Bun and a Node server on one PostgreSQL, as behind a load balancer), and a response is accepted once
 * across the cluster, also when it reaches both instances at the same moment.
 */
const ADMIN_URL = process.env.TEST_DATABASE_URL;
/** One public URL for the cluster: the origin pages call from, and (its host) the RP ID. */
const APP_URL = "http://servauth.test";

describe.skipIf(ADMIN_URL === undefined)("passkey ceremonies across two instances on one PostgreSQL", () => {
  let database: ScratchDatabase;
  let a: SpawnedServer;
  let b: SpawnedServer;

  beforeAll(async () => {
    database = await createScratchDatabase(ADMIN_URL ?? "");
    const env = { APP_URL, AUTH_SECRET: randomBytes(32).toString("base64url"), NODE_ENV: "test" };
    [a, b] = await Promise.all([spawnServer({ runtime: "bun", databaseUrl: database.url, env }), spawnServer({ runtime: "node", databaseUrl: database.url, env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  const post = (server: SpawnedServer, path: string, body: unknown, token?: string) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });

  it("registers through one instance and signs in through the other; a response is used once in the cluster", async () => {
    const registered = await post(a, "/auth/register", { email: `cluster-${Date.now()}@example.com`, password: "correct horse battery staple" });
    expect(registered.status).toBe(201);
    const { accessToken } = (await registered.json()) as { accessToken: string };
    const authenticator = createSoftAuthenticator(APP_URL);

    const creation = await (await post(a, "/auth/passkeys/register/options", {}, accessToken)).json();
    const added = await post(b, "/auth/passkeys/register/verify", { response: authenticator.create(creation).response }, accessToken);
    expect(added.status, await added.clone().text()).toBe(201);

    const request = await (await post(b, "/auth/passkeys/login/options", {})).json();
    const response = authenticator.get(request);
    expect((await post(a, "/auth/passkeys/login/verify", { response })).status).toBe(200);
    expect((await post(b, "/auth/passkeys/login/verify", { response })).status).toBe(400);

    // The same response at both instances at once: one session, one refusal.
    const raced = authenticator.get(await (await post(a, "/auth/passkeys/login/options", {})).json());
    const answers = await Promise.all([a, b].map((server) => post(server, "/auth/passkeys/login/verify", { response: raced })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
  });
});
