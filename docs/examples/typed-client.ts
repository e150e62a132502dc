/**
 * A typed client for Servauth, as shown in docs/client.md. It is type-checked with the project (tsconfig includes
 * docs/) and run against the app by tests/http/openapi.test.ts, so it cannot drift from the API.
 */
import { type ClientRequestOptions, hc } from "hono/client";
import type { AppType } from "../../src/http/app.ts";

/**
 * Everything after `hc<AppType>(baseUrl)` is inferred from the server's routes: paths, bodies, responses.
 * `options` can set default headers or another fetch (tests pass the app's own `request`).
 */
export function createServauthClient(baseUrl: string, options: ClientRequestOptions = {}) {
  return hc<AppType>(baseUrl, options);
}

/** Signs in, reads the profile with the access token, and signs out again. */
export async function signInAndReadProfile(client: ReturnType<typeof createServauthClient>, email: string, password: string) {
  const login = await client.auth.login.$post({ json: { email, password } });
  if (login.status !== 200) {
    // Every error is application/problem+json; `code` is the stable field to switch on.
    const problem = await login.json();
    throw new Error(`login failed: ${problem.code}`);
  }
  const { accessToken, refreshToken, expiresIn } = await login.json();
  const headers = { authorization: `Bearer ${accessToken}` };

  const me = await client.auth.me.$get({}, { headers });
  if (me.status !== 200) throw new Error(`GET /auth/me answered ${me.status}`);
  const { user, session } = await me.json();

  const logout = await client.auth.logout.$post({}, { headers });
  return { user, sessionId: session.id, refreshToken, expiresIn, loggedOut: logout.status === 204 };
}
