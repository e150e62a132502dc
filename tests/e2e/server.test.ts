import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { e2eRuntimes, type Runtime, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/**
 * The real server, started the way an operator starts it, over TCP. One server per runtime serves the flows; the
 * last test stops it (SIGTERM) and starts a second one on the same DATA_DIR.
 */

const PASSWORD = "correct horse battery staple";
let counter = 0;
const newEmail = (runtime: Runtime) => `e2e-${runtime}-${Date.now().toString(36)}-${++counter}@example.com`;

type AuthResult = { user: { id: string; email: string }; accessToken: string; refreshToken: string };

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** name=value pairs of a response's Set-Cookie headers ("" for a cleared cookie). */
function setCookies(response: Response): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const header of response.headers.getSetCookie()) {
    const pair = header.split(";")[0] ?? "";
    const index = pair.indexOf("=");
    if (index > 0) cookies.set(pair.slice(0, index), pair.slice(index + 1));
  }
  return cookies;
}

async function register(server: SpawnedServer, runtime: Runtime, headers: Record<string, string> = {}) {
  const email = newEmail(runtime);
  const response = await post(`${server.url}/auth/register`, { email, password: PASSWORD }, headers);
  expect(response.status, await response.clone().text()).toBe(201);
  return { email, body: (await response.json()) as AuthResult, cookies: setCookies(response) };
}

async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(((await response.json()) as { code: string }).code).toBe(code);
}

describe.each<Runtime>(e2eRuntimes())("the server on %s", (runtime) => {
  let dataDir: string;
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), `servauth-e2e-${runtime}-`));
    server = await spawnServer({ runtime, dataDir });
  });

  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const running = (): SpawnedServer => {
    if (server === undefined) throw new Error("no server");
    return server;
  };

  test("a third party verifies access tokens against /.well-known/jwks.json with jose", async () => {
    const { url } = running();
    const { body } = await register(running(), runtime);
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(body.accessToken, jwks, { issuer: url, audience: "servauth" });
    expect(protectedHeader.alg).toBe("EdDSA");
    expect(payload.sub).toBe(body.user.id);
    expect(payload).toEqual(
      expect.objectContaining({ sid: expect.any(String), jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) }),
    );
  });

  test("bearer token: register, /auth/me, logout, then the token is refused", async () => {
    const { url } = running();
    const { email, body } = await register(running(), runtime);
    const auth = { authorization: `Bearer ${body.accessToken}` };

    const me = await fetch(`${url}/auth/me`, { headers: auth });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);

    const logout = await fetch(`${url}/auth/logout`, { method: "POST", headers: auth });
    expect(logout.status).toBe(204);

    await expectProblem(await fetch(`${url}/auth/me`, { headers: auth }), 401, "UNAUTHENTICATED");
  });

  test("session cookie: register, /auth/me, logout (with Origin), then the cookie is refused", async () => {
    const { url } = running();
    const origin = { origin: url };
    const { email, cookies } = await register(running(), runtime, origin);
    const session = cookies.get("servauth.session");
    expect(session).toBeTruthy();
    const cookie = { cookie: `servauth.session=${session}` };

    const me = await fetch(`${url}/auth/me`, { headers: cookie });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(email);

    // A cookie-carrying POST that names no origin could be cross-site: refused.
    await expectProblem(await fetch(`${url}/auth/logout`, { method: "POST", headers: cookie }), 403, "CSRF_REJECTED");

    const logout = await fetch(`${url}/auth/logout`, { method: "POST", headers: { ...cookie, ...origin } });
    expect(logout.status).toBe(204);
    expect(setCookies(logout).get("servauth.session")).toBe("");

    await expectProblem(await fetch(`${url}/auth/me`, { headers: cookie }), 401, "UNAUTHENTICATED");
  });

  test("SIGTERM exits with code 0, and the embedded database survives a restart", async () => {
    const { email, body } = await register(running(), runtime);

    const first = running();
    server = undefined;
    const code = await first.stop("SIGTERM");
    expect(code, first.output()).toBe(0);

    // A new port, but the same public URL (the JWT issuer), as for an operator restarting behind a proxy.
    server = await spawnServer({ runtime, dataDir, env: { APP_URL: first.url } });

    const login = await post(`${server.url}/auth/login`, { email, password: PASSWORD });
    expect(login.status, await login.clone().text()).toBe(200);
    expect(((await login.json()) as AuthResult).user.id).toBe(body.user.id);

    // The session, the signing key and the generated AUTH_SECRET were all kept in DATA_DIR.
    const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${body.accessToken}` } });
    expect(me.status).toBe(200);

    const second = server;
    server = undefined;
    expect(await second.stop(), second.output()).toBe(0);
  });
});
