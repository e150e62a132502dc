import { randomBytes } from "node:crypto";

/**
 * Steady client traffic against a running server for resilience tests: a few loops, each sending one request
 * after another (register a new user, GET /auth/me, log in), every request with a bounded wait, every answer
 * recorded with the phase the test was in when it was sent.
 */

export const TRAFFIC_PASSWORD = "correct horse battery staple";

export type Outcome = {
  operation: "register" | "me" | "login";
  phase: string;
  /** 0: no answer within the bound (code TimeoutError) or the connection failed. */
  status: number;
  code?: string;
  retryAfter: string | null;
  ms: number;
  /** For a 201 register: the user and session ids the client was given. */
  created?: { userId: string; sessionId: string };
};

export type Traffic = {
  /** Requests from now on are labelled `phase` ("outage" is the one where failures are allowed). */
  setPhase(phase: string): void;
  /** Stops the loops and resolves with every outcome once the requests in flight are answered. */
  stop(): Promise<Outcome[]>;
};

type Account = { email: string; accessToken: string };

async function send(url: string, init: RequestInit, boundMs: number) {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(boundMs) });
    const text = await response.text();
    const body = (text.startsWith("{") ? JSON.parse(text) : {}) as Record<string, unknown>;
    return { status: response.status, body, retryAfter: response.headers.get("retry-after"), ms: performance.now() - started };
  } catch (error) {
    return { status: 0, body: { code: (error as Error).name }, retryAfter: null, ms: performance.now() - started };
  }
}

const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function sessionIdOf(accessToken: string): string {
  return (JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString("utf8")) as { sid: string }).sid;
}

/** Registers the account the loops log in with and read /auth/me as; fails unless the server answers. */
export async function registerAccount(baseUrl: string): Promise<Account> {
  const email = `traffic-${randomBytes(6).toString("hex")}@example.com`;
  const { status, body } = await send(`${baseUrl}/auth/register`, json({ email, password: TRAFFIC_PASSWORD }), 10_000);
  if (status !== 201) throw new Error(`register answered ${status}: ${JSON.stringify(body)}`);
  return { email, accessToken: String(body.accessToken) };
}

/**
 * `reader` is the account whose token GET /auth/me sends; `login` the one logged in with. Two accounts, because
 * repeated logins end the oldest sessions of their account (MAX_SESSIONS_PER_USER).
 */
export function startTraffic(baseUrl: string, accounts: { reader: Account; login: Account }, options: { loops: number; boundMs: number }): Traffic {
  const outcomes: Outcome[] = [];
  let phase = "before";
  let running = true;
  const operations = ["register", "me", "login"] as const;

  async function loop(offset: number) {
    for (let turn = offset; running; turn++) {
      const operation = operations[turn % operations.length] ?? "me";
      const sentIn = phase;
      const result =
        operation === "register"
          ? await send(`${baseUrl}/auth/register`, json({ email: `traffic-${randomBytes(6).toString("hex")}@example.com`, password: TRAFFIC_PASSWORD }), options.boundMs)
          : operation === "me"
            ? await send(`${baseUrl}/auth/me`, { headers: { authorization: `Bearer ${accounts.reader.accessToken}` } }, options.boundMs)
            : await send(`${baseUrl}/auth/login`, json({ email: accounts.login.email, password: TRAFFIC_PASSWORD }), options.boundMs);
      const user = result.body.user as { id?: string } | undefined;
      outcomes.push({
        operation,
        // A request that straddles a change of phase (sent before an outage, answered during it) counts as the
        // later one, or as the outage when it ended in one.
        phase: sentIn === phase ? phase : sentIn === "outage" ? "outage" : phase,
        status: result.status,
        code: typeof result.body.code === "string" ? result.body.code : undefined,
        retryAfter: result.retryAfter,
        ms: result.ms,
        ...(operation === "register" && result.status === 201 && user?.id !== undefined
          ? { created: { userId: user.id, sessionId: sessionIdOf(String(result.body.accessToken)) } }
          : {}),
      });
    }
  }

  const loops = Array.from({ length: options.loops }, (_, index) => loop(index));
  return {
    setPhase: (next) => void (phase = next),
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
