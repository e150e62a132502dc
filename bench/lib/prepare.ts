/** Prepares users, tokens and sessions over HTTP, exactly as clients would get them. */

/** Not on any common-password list, and not containing the email's local part (the password policy checks both). */
export const PASSWORD = "bench-Kettle-Harbour-7f3a9c";
/** In production the session cookie carries the __Host- prefix (Secure, Path=/, no Domain). */
export const SESSION_COOKIE = "__Host-servauth.session";

export type Signed = { email: string; accessToken: string; refreshToken: string; sessionCookie: string };

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

function parseSigned(email: string, response: Response, json: { accessToken: string; refreshToken: string }): Signed {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (cookie === undefined) throw new Error(`no ${SESSION_COOKIE} cookie in ${JSON.stringify(response.headers.getSetCookie())}`);
  const sessionCookie = cookie.slice(0, cookie.indexOf(";"));
  return { email, accessToken: json.accessToken, refreshToken: json.refreshToken, sessionCookie };
}

export async function register(baseUrl: string, email: string): Promise<Signed> {
  const response = await post(`${baseUrl}/auth/register`, { email, password: PASSWORD });
  const json = await response.json();
  if (response.status !== 201) throw new Error(`register ${email}: ${response.status} ${JSON.stringify(json)}`);
  return parseSigned(email, response, json);
}

export async function login(baseUrl: string, email: string): Promise<Signed> {
  const response = await post(`${baseUrl}/auth/login`, { email, password: PASSWORD });
  const json = await response.json();
  if (response.status !== 200) throw new Error(`login ${email}: ${response.status} ${JSON.stringify(json)}`);
  return parseSigned(email, response, json);
}

/** A personal API key made from `signed`'s fresh session (POST /auth/api-keys needs a recent authentication). */
export async function createApiKey(baseUrl: string, signed: Signed): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/api-keys`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${signed.accessToken}` },
    body: JSON.stringify({ name: "bench" }),
  });
  const json = (await response.json()) as { key?: string };
  if (response.status !== 201 || json.key === undefined) throw new Error(`api key for ${signed.email}: ${response.status} ${JSON.stringify(json)}`);
  return json.key;
}

/**
 * Fails loudly unless GET /auth/me answers 200 for `email` with these headers, so no benchmark measures a stream of
 * 401s, or another user's answer.
 */
export async function expectMe(baseUrl: string, headers: Record<string, string>, email: string): Promise<void> {
  const response = await fetch(`${baseUrl}/auth/me`, { headers });
  const text = await response.text();
  const answered = response.status === 200 ? (JSON.parse(text) as { user?: { email?: string } }).user?.email : undefined;
  if (answered !== email) throw new Error(`GET /auth/me with ${Object.keys(headers).join(",")}, expected ${email}: ${response.status} ${text}`);
}

/**
 * `count` independent sessions, each with a fresh refresh token: `count` users registered `parallel` at a time
 * (one session each, so MAX_SESSIONS_PER_USER never evicts one of them).
 */
export async function registerMany(baseUrl: string, prefix: string, count: number, parallel = 4): Promise<Signed[]> {
  const out: Signed[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        out.push(await register(baseUrl, `${prefix}-${i}@example.com`));
      }
    }),
  );
  return out;
}
