import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { OAuth2Server } from "oauth2-mock-server";

type Claims = Record<string, unknown>;

/**
 * A local OpenID provider (oauth2-mock-server): discovery, authorize (a redirect straight back with a code), token
 * (checks the PKCE verifier; puts the nonce in the ID token), JWKS. `identify` shapes the next ID tokens' claims;
 * `tamper` gets the payload last, to break it.
 */
export async function startOidcProvider() {
  const server = new OAuth2Server();
  await server.issuer.keys.generate("RS256");
  await server.start(0, "127.0.0.1");
  let claims: Claims = { sub: "subject-1", email: "someone@example.com", email_verified: true };
  let tamper: ((payload: Claims) => void) | null = null;
  let clientSecret: string | null = null;
  server.service.on("beforeTokenSigning", (token: { payload: Claims }, request: { body?: Record<string, unknown> }) => {
    clientSecret = typeof request.body?.client_secret === "string" ? request.body.client_secret : null;
    // The ID token is the one with an audience (the client id); the access token has none.
    if (token.payload.aud === undefined) return;
    Object.assign(token.payload, claims);
    tamper?.(token.payload);
  });
  return {
    issuer: server.issuer.url as string,
    identify(next: Claims) {
      claims = next;
      tamper = null;
    },
    /** The client_secret of the latest token request. */
    lastClientSecret: () => clientSecret,
    /** Where the provider says it is (discovery, the ID tokens' iss): a front that forwards to it. */
    setIssuer(url: string) {
      server.issuer.url = url;
    },
    tamper(change: (payload: Claims) => void) {
      tamper = change;
    },
    stop: () => server.stop(),
  };
}

export type OidcProvider = Awaited<ReturnType<typeof startOidcProvider>>;

export type GithubUser = { id: number; emails: { email: string; primary: boolean; verified: boolean }[] };

/** A small fake of GitHub's OAuth endpoints: authorize, access_token (PKCE S256 checked), /user, /user/emails. */
export async function startFakeGithub(clientSecret: string) {
  let user: GithubUser = { id: 4242, emails: [{ email: "octo@example.com", primary: true, verified: true }] };
  const codes = new Map<string, string>();
  const tokens = new Set<string>();
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const json = (status: number, body: unknown) => response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (url.pathname === "/login/oauth/authorize") {
      const code = crypto.randomUUID();
      codes.set(code, url.searchParams.get("code_challenge") ?? "");
      const back = new URL(url.searchParams.get("redirect_uri") ?? "");
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state") ?? "");
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === "/login/oauth/access_token") {
      let body = "";
      for await (const chunk of request) body += chunk;
      const form = new URLSearchParams(body);
      const challenge = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const verified = createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url") === challenge;
      // GitHub answers a bad code with 200 and an error body.
      if (!verified || form.get("client_secret") !== clientSecret) return json(200, { error: "bad_verification_code" });
      const token = crypto.randomUUID();
      tokens.add(token);
      return json(200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
    }
    if (!tokens.has(request.headers.authorization?.replace(/^Bearer /i, "") ?? "")) return json(401, { message: "Bad credentials" });
    if (url.pathname === "/user") return json(200, { id: user.id, login: `user${user.id}` });
    if (url.pathname === "/user/emails") return json(200, user.emails);
    json(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    env: (prefix: string) => ({
      [`${prefix}AUTHORIZATION_URL`]: `${base}/login/oauth/authorize`,
      [`${prefix}TOKEN_URL`]: `${base}/login/oauth/access_token`,
      [`${prefix}USER_URL`]: `${base}/user`,
      [`${prefix}EMAILS_URL`]: `${base}/user/emails`,
    }),
    identify(next: GithubUser) {
      user = next;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP listener that accepts connections and never answers: a provider that hangs. */
export async function startSilentServer() {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
