import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * The spelling of the secrets Servauth hands to programs: personal API keys (`sa_`) and machine clients' secrets
 * (`sacs_`). Like GitHub's token format: a prefix a secret scanner can match, base62 only (a double click selects
 * the whole thing, no URL or shell escaping), and a CRC32 of everything before it, so a scanner or our own
 * authenticate step can tell a real-looking string from a typo without a database lookup.
 */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE = BigInt(ALPHABET.length);
/** Character code -> digit value, -1 for anything outside the alphabet. */
const DIGIT = Array.from({ length: 128 }, (_, code) => ALPHABET.indexOf(String.fromCharCode(code)));

/** 62^43 > 2^256: 43 base62 characters carry a 256-bit secret. */
const SECRET_CHARS = 43;
/** 62^6 > 2^32: a CRC32. */
const CHECKSUM_CHARS = 6;
/** 62^22 > 2^128: a UUID. */
const ID_CHARS = 22;

export const API_KEY_PREFIX = "sa_";
export const CLIENT_SECRET_PREFIX = "sacs_";
export const API_KEY_LENGTH = API_KEY_PREFIX.length + ID_CHARS + SECRET_CHARS + CHECKSUM_CHARS;
const CLIENT_SECRET_LENGTH = CLIENT_SECRET_PREFIX.length + SECRET_CHARS + CHECKSUM_CHARS;
const BASE62 = /^[0-9A-Za-z]+$/;

function encode(value: bigint, width: number): string {
  let text = "";
  for (let rest = value; rest > 0n; rest /= BASE) text = ALPHABET[Number(rest % BASE)] + text;
  return text.padStart(width, "0");
}

/** 62^8 < 2^53: eight characters at a time fit a Number, so a decode costs three BigInt steps, not 22 (hot path). */
const CHUNK = 8;
const CHUNK_BASE = BASE ** BigInt(CHUNK);

function decode(text: string): bigint {
  let value = 0n;
  for (let start = 0; start < text.length; start += CHUNK) {
    const chunk = text.slice(start, start + CHUNK);
    let part = 0;
    for (let i = 0; i < chunk.length; i += 1) part = part * 62 + (DIGIT[chunk.charCodeAt(i)] ?? 0);
    value = value * (chunk.length === CHUNK ? CHUNK_BASE : BASE ** BigInt(chunk.length)) + BigInt(part);
  }
  return value;
}

/** The CRC32 (a Number) in six base62 characters, without BigInt: it is computed on every key presented. */
function checksumOf(body: string): string {
  let text = "";
  for (let rest = crc32(body); text.length < CHECKSUM_CHARS; rest = Math.floor(rest / 62)) text = ALPHABET.charAt(rest % 62) + text;
  return text;
}
const randomSecret = () => encode(BigInt(`0x${randomBytes(32).toString("hex")}`), SECRET_CHARS);

function withChecksum(body: string): string {
  return body + checksumOf(body);
}

/** Whether `text` has the length, alphabet and checksum of a secret with this prefix: no lookup needed to say no. */
function wellFormed(text: string, prefix: string, length: number): boolean {
  if (text.length !== length || !text.startsWith(prefix)) return false;
  const rest = text.slice(prefix.length);
  if (!BASE62.test(rest)) return false;
  return checksumOf(text.slice(0, -CHECKSUM_CHARS)) === text.slice(-CHECKSUM_CHARS);
}

/** A new API key for the key row `id` (a UUID): `sa_` + the id (base62) + 256 random bits + CRC32. */
export function generateApiKey(id: string): string {
  return withChecksum(API_KEY_PREFIX + encode(BigInt(`0x${id.replaceAll("-", "")}`), ID_CHARS) + randomSecret());
}

/** The key row's id inside a well-formed API key, or null for anything that is not one (checksum included). */
export function apiKeyIdOf(key: string): string | null {
  return wellFormed(key, API_KEY_PREFIX, API_KEY_LENGTH) ? idOfPart(idPartOf(key)) : null;
}

/**
 * apiKeyIdOf for the hot path: the same answers, with the id part's decoding (BigInt arithmetic: a few µs, a good
 * share of an authenticated request) remembered, since a client presents the same key on every request. Only id
 * parts are remembered, never keys: the id is no secret (a listing shows its start), and the checksum is still
 * checked on every call. At most `capacity` of them; the oldest goes first.
 */
export function createApiKeyIdReader(capacity = 10_000): (key: string) => string | null {
  const known = new Map<string, string | null>();
  return (key) => {
    if (!wellFormed(key, API_KEY_PREFIX, API_KEY_LENGTH)) return null;
    const part = idPartOf(key);
    const remembered = known.get(part);
    if (remembered !== undefined) return remembered;
    const id = idOfPart(part);
    if (known.size >= capacity) known.delete(known.keys().next().value!);
    known.set(part, id);
    return id;
  };
}

const idPartOf = (key: string) => key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + ID_CHARS);

function idOfPart(part: string): string | null {
  const id = decode(part);
  if (id >= 1n << 128n) return null;
  const hex = id.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a listing shows of a key so its owner can recognise it: the prefix and the start of its id part. */
export const displayPrefixOf = (key: string) => key.slice(0, API_KEY_PREFIX.length + 8);

/** A new client secret: `sacs_` + 256 random bits + CRC32. */
export function generateClientSecret(): string {
  return withChecksum(CLIENT_SECRET_PREFIX + randomSecret());
}

export const isWellFormedClientSecret = (secret: string) => wellFormed(secret, CLIENT_SECRET_PREFIX, CLIENT_SECRET_LENGTH);

/** Cheap test for the authenticate step: a bearer credential that means to be an API key. */
export const looksLikeApiKey = (credential: string) => credential.startsWith(API_KEY_PREFIX);
