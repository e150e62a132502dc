import { randomBytes } from "node:crypto";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { OtpKeyStore } from "../otp/otp-keys.ts";
import { openSealedJson, sealJson } from "../otp/sealed-state.ts";
import { matchesS256Challenge } from "./pkce.ts";
import type { SingleUseIds } from "../otp/single-use-ids.ts";

const random = () => randomBytes(32).toString("base64url");
const randomId = () => randomBytes(16).toString("base64url");
const base64url = (length: number) => z.string().length(length).regex(/^[A-Za-z0-9_-]+$/);

/** What the browser carries between the authorization request and the callback, sealed. */
const FlowStateSchema = z
  .object({
    purpose: z.literal("oauth-flow"),
    /** The single-use id: a callback is answered once. */
    id: base64url(22),
    provider: z.string().min(1).max(32),
    /** Sent to the provider and compared on return (state), put in the ID token by it (nonce), PKCE's secret. */
    state: base64url(43),
    nonce: base64url(43),
    codeVerifier: base64url(43),
    mode: z.enum(["login", "link"]),
    /** link: the signed-in user the identity is added to. */
    userId: z.uuid().nullable(),
    redirectTo: z.string().max(2048),
    /** browser: session cookies and a plain redirect; app: a one-time code in the redirect instead. */
    client: z.enum(["browser", "app"]),
    /** app: the S256 challenge of the app's own PKCE verifier, which redeems the exchange code (RFC 7636, RFC 8252). */
    appCodeChallenge: base64url(43).nullable(),
    expiresAt: z.number().int(),
  })
  .strict()
  .refine((flow) => (flow.mode === "link") === (flow.userId !== null), "userId does not fit the mode")
  .refine((flow) => (flow.client === "app") === (flow.appCodeChallenge !== null), "the code challenge does not fit the client");

/** A proven social login waiting to be exchanged for tokens by an app (POST /auth/oauth/exchange). */
const ExchangeCodeSchema = z
  .object({
    purpose: z.literal("oauth-exchange"),
    id: base64url(22),
    userId: z.uuid(),
    provider: z.string().min(1).max(32),
    subject: z.string().min(1).max(255),
    /** The flow's appCodeChallenge: only the app that started the flow can redeem the code. */
    codeChallenge: base64url(43),
    expiresAt: z.number().int(),
  })
  .strict();

export type FlowState = z.infer<typeof FlowStateSchema>;
export type ExchangeCode = z.infer<typeof ExchangeCodeSchema>;
export type FlowStart = Pick<FlowState, "provider" | "mode" | "userId" | "redirectTo" | "client" | "appCodeChallenge">;

export type FlowStateDeps = {
  keys: Pick<OtpKeyStore, "current" | "find">;
  ids: Pick<SingleUseIds, "issue" | "consume">;
  flowTtlSeconds: number;
  exchangeCodeTtlSeconds: number;
  now: () => Date;
};

/**
 * The server keeps no flow: the browser holds it, sealed with the one-time-code key ring (AES-256-KW + GCM), and
 * the server remembers only its id, until the callback spends it. So a callback is answered once (a replay finds
 * the id spent), a flow expires, and nothing about it can be read or changed by the client. The exchange code of
 * an app is the same: sealed, single use, 60 seconds.
 */
export function createFlowStates({ keys, ids, flowTtlSeconds, exchangeCodeTtlSeconds, now }: FlowStateDeps) {
  async function sealWithId<T extends { id: string; expiresAt: number }>(value: T): Promise<string> {
    await ids.issue(value.id, new Date(value.expiresAt));
    return sealJson(value, keys.current());
  }

  /** The sealed value as this server made it: OAUTH_FLOW_INVALID for a damaged, foreign or malformed one. */
  async function open<S extends z.ZodType>(sealed: string | undefined, schema: S, what: string): Promise<z.infer<S>> {
    if (sealed === undefined) throw new AppError("OAUTH_FLOW_INVALID", { message: `No ${what} was presented` });
    const parsed = schema.safeParse(await openSealedJson(sealed, (kid) => keys.find(kid), "OAUTH_FLOW_INVALID"));
    if (!parsed.success) throw new AppError("OAUTH_FLOW_INVALID", { cause: parsed.error });
    return parsed.data;
  }

  /** Checks expiry, then spends the id: of any number of uses, one passes. */
  async function spend(value: { id: string; expiresAt: number }, what: string): Promise<void> {
    if (value.expiresAt <= now().getTime()) throw new AppError("OAUTH_FLOW_INVALID", { message: `The ${what} has expired` });
    if (!(await ids.consume(value.id))) throw new AppError("OAUTH_FLOW_INVALID", { message: `The ${what} was already used` });
  }

  return {
    /** A new flow: its secrets, and the sealed string the browser keeps (a cookie) until the callback. */
    async start(fields: FlowStart): Promise<{ flow: FlowState; sealed: string }> {
      const flow: FlowState = {
        purpose: "oauth-flow",
        id: randomId(),
        state: random(),
        nonce: random(),
        codeVerifier: random(),
        ...fields,
        expiresAt: now().getTime() + flowTtlSeconds * 1000,
      };
      return { flow, sealed: await sealWithId(flow) };
    },

    /** The flow a callback presents, not yet spent (its redirectTo is where even a refusal goes). */
    open: (sealed: string | undefined): Promise<FlowState> => open(sealed, FlowStateSchema, "sign-in flow"),

    /** OAUTH_FLOW_INVALID for an expired or already answered flow; a flow answers once. */
    spend: (flow: FlowState) => spend(flow, "sign-in flow"),

    /** A one-time code for an app, naming the proven identity. */
    issueExchangeCode: (fields: Pick<ExchangeCode, "userId" | "provider" | "subject" | "codeChallenge">) =>
      sealWithId<ExchangeCode>({ purpose: "oauth-exchange", id: randomId(), ...fields, expiresAt: now().getTime() + exchangeCodeTtlSeconds * 1000 }),

    /**
     * The code, spent, if `codeVerifier` is the verifier of its challenge. The verifier is checked before the code
     * is spent, so a stolen code presented without it cannot burn the app's.
     */
    async redeemExchangeCode(code: string, codeVerifier: string): Promise<ExchangeCode> {
      const exchange = await open(code, ExchangeCodeSchema, "exchange code");
      if (!matchesS256Challenge(codeVerifier, exchange.codeChallenge)) throw new AppError("OAUTH_FLOW_INVALID", { message: "The code_verifier does not match the flow's code_challenge" });
      await spend(exchange, "exchange code");
      return exchange;
    },
  };
}

export type FlowStates = ReturnType<typeof createFlowStates>;
