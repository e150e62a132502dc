import { CompactEncrypt, compactDecrypt } from "jose";
import { z } from "zod";
import { isDatabaseUnavailable } from "../db/errors.ts";
import { AppError } from "../errors.ts";
import type { OtpKey } from "./otp-keys.ts";

/** Above any state this server seals (at most MAX_CREDENTIALS addresses of 255 characters); longer input is not opened. */
export const MAX_CHALLENGE_LENGTH = 8_192;
/** OTP_MAX_CREDENTIALS's ceiling: a state with this many 255-character addresses still fits a 4 KB cookie. */
export const MAX_CREDENTIALS = 5;
const PROTECTED_HEADER = { alg: "A256KW", enc: "A256GCM" } as const;
const base64url = (length: number) => z.string().length(length).regex(/^[A-Za-z0-9_-]+$/);

const CredentialSchema = z
  .object({
    channel: z.literal("email"),
    to: z.string().min(3).max(255),
    /** Random per code; part of what the code's HMAC covers. */
    nonce: base64url(22),
    /** HMAC-SHA-256 of the code (never the code itself). */
    codeHash: base64url(43),
    /** Epoch ms. */
    expiresAt: z.number().int().nonnegative(),
    resendAvailableAt: z.number().int().nonnegative(),
  })
  .strict();

/**
 * What the client carries, sealed. Every field is checked after decryption: a state that decrypts but does not
 * match is refused before anything shared (the single-use ids) is touched.
 */
export const ChallengeStateSchema = z
  .object({
    v: z.literal(1),
    /** The single-use id: 128 random bits. */
    id: base64url(22),
    purpose: z.enum(["sign-in", "verify-email", "reauthenticate"]),
    /** verify-email, reauthenticate: the signed-in user the challenge was created for; sign-in: null. */
    userId: z.uuid().nullable(),
    credentials: z.array(CredentialSchema).min(1).max(MAX_CREDENTIALS),
    current: z.number().int().nonnegative(),
    attemptsLeft: z.number().int().min(1).max(20),
    resends: z.number().int().nonnegative().max(20),
  })
  .strict()
  .refine((state) => state.current < state.credentials.length, "current is out of range")
  .refine((state) => (state.purpose === "sign-in") === (state.userId === null), "userId does not fit the purpose");

export type ChallengeState = z.infer<typeof ChallengeStateSchema>;
export type Credential = ChallengeState["credentials"][number];

/** The credential the challenge is about now. */
export function currentCredential(state: ChallengeState): Credential {
  return state.credentials[state.current] as Credential;
}

/** When the last code the state holds expires (epoch ms); the state is worthless after that. */
export function stateExpiresAt(state: ChallengeState): number {
  return Math.max(...state.credentials.map((credential) => credential.expiresAt));
}

/**
 * Envelope encryption as a compact JWE: a fresh AES-256-GCM content key per seal, wrapped with the current
 * AES-256-KW key-encryption key named by `kid`.
 */
export function sealState(state: ChallengeState, key: OtpKey): Promise<string> {
  return sealJson(state, key);
}

/** Any JSON value sealed the same way (the social-login flow state reuses the key ring: src/oauth/flow-state.ts). */
export function sealJson(value: unknown, key: OtpKey): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(value)))
    .setProtectedHeader({ ...PROTECTED_HEADER, kid: key.kid })
    .encrypt(key.key);
}

/** The state inside a challenge string, or OTP_CHALLENGE_INVALID for anything this server did not seal as such. */
export async function openState(challenge: string, findKey: (kid: string) => Promise<OtpKey | undefined>): Promise<ChallengeState> {
  const decoded = await openSealedJson(challenge, findKey, "OTP_CHALLENGE_INVALID");
  const parsed = ChallengeStateSchema.safeParse(decoded);
  if (!parsed.success) throw new AppError("OTP_CHALLENGE_INVALID", { cause: parsed.error });
  return parsed.data;
}

/** The JSON inside a string sealJson made; `invalid` for anything this server did not seal (a database outage stays one). */
export async function openSealedJson(
  sealed: string,
  findKey: (kid: string) => Promise<OtpKey | undefined>,
  invalid: "OTP_CHALLENGE_INVALID" | "OAUTH_FLOW_INVALID",
): Promise<unknown> {
  if (sealed.length > MAX_CHALLENGE_LENGTH || !isCanonical(sealed)) throw new AppError(invalid);
  try {
    const { plaintext, protectedHeader } = await compactDecrypt(
      sealed,
      async (header) => {
        const key = typeof header.kid === "string" ? await findKey(header.kid) : undefined;
        if (key === undefined) throw new Error("unknown OTP key");
        return key.key;
      },
      { keyManagementAlgorithms: [PROTECTED_HEADER.alg], contentEncryptionAlgorithms: [PROTECTED_HEADER.enc] },
    );
    if (Object.keys(protectedHeader).sort().join() !== "alg,enc,kid") throw new Error("unexpected JWE header");
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext)) as unknown;
  } catch (cause) {
    // Looking up an unknown kid may reload keys from the database: its outage is a 503, not a bad challenge.
    if (isDatabaseUnavailable(cause)) throw cause;
    throw new AppError(invalid, { cause });
  }
}

/**
 * Five base64url parts, each exactly as this server encodes it: decoders ignore the spare bits of a last character,
 * so without this check one state would have several spellings.
 */
function isCanonical(challenge: string): boolean {
  const parts = challenge.split(".");
  return parts.length === 5 && parts.every((part) => Buffer.from(part, "base64url").toString("base64url") === part);
}
