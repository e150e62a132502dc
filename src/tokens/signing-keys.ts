import { randomUUID } from "node:crypto";
import { and, desc, isNotNull, isNull, lt, or, gt, sql } from "drizzle-orm";
import { type CryptoKey, errors as joseErrors, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { DatabaseHandle } from "../db/client.ts";
import { signingKeys } from "../db/tables/signing-keys.ts";
import { latestLoadWins } from "../latest-load-wins.ts";
import type { Logger } from "../observability/logger.ts";
import { createSecretBox, type SecretBox } from "./secret-box.ts";

export const SIGNING_ALGORITHM = "EdDSA";
const KEY_LOCK_ID = 0x5e7a_0002;
/** How often an instance looks for keys another process added (`servauth keys rotate`). */
export const RELOAD_INTERVAL_MS = 30_000;
/** An unknown kid triggers a reload, but not more often than this (garbage kids must not hammer the database). */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/** The box private signing keys are sealed in, derived from AUTH_SECRET. */
export function createSigningKeyBox(authSecret: string): SecretBox {
  return createSecretBox(authSecret, "signing-keys");
}

type LoadedKey = { kid: string; publicJwk: JWK; publicKey: CryptoKey; privateKey: CryptoKey };
type KeyRow = typeof signingKeys.$inferSelect;

export type SigningKeyStore = {
  /** The key new tokens are signed with: the newest one not retired. */
  current(): LoadedKey;
  /** A key that may still verify tokens; on an unknown kid, looks in the database again (rate-limited). */
  find(kid: string): Promise<LoadedKey | undefined>;
  /** The public half of every key whose tokens may still be alive, as published at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
  reload(): Promise<void>;
  close(): void;
};

/**
 * For jose's jwtVerify: the public key the token's header names (its kid), looked up in the store; a token without a
 * kid, or with one the store does not know, matches no key. Shared by every verifier of our tokens.
 */
export function verificationKeyOf(keys: Pick<SigningKeyStore, "find">) {
  return async (header: { kid?: string | undefined }): Promise<CryptoKey> => {
    const key = header.kid === undefined ? undefined : await keys.find(header.kid);
    if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
    return key.publicKey;
  };
}

export type SigningKeyOptions = { accessTtlSeconds: number };

/**
 * Ed25519 signing keys from the database; the first is created on first start (under an advisory lock, so
 * instances starting together agree on it). Private keys are stored sealed by the secret box. A retired key
 * stays published, and verifying, until every token it signed has expired.
 */
export async function loadSigningKeys(
  handle: DatabaseHandle,
  box: SecretBox,
  options: SigningKeyOptions,
  logger: Logger,
): Promise<SigningKeyStore> {
  await handle.withAdvisoryLock(KEY_LOCK_ID, async () => {
    const [existing] = await handle.db.select({ kid: signingKeys.kid }).from(signingKeys).limit(1);
    if (existing === undefined) await insertKey(handle, box);
  });
  const opened = new Map<string, LoadedKey>();
  let live: LoadedKey[] = [];
  let lastUnknownKidReloadAt = 0;

  // Opening a key is asynchronous (WebCrypto import), so it is part of the load: `apply` only swaps the sets.
  const reload = latestLoadWins(
    async () => {
      const next: LoadedKey[] = [];
      for (const row of await liveKeyRows(handle, options.accessTtlSeconds)) next.push(opened.get(row.kid) ?? (await openKey(row, box)));
      if (next.length === 0) throw new Error("no signing key");
      return next;
    },
    (next) => {
      live = next;
      opened.clear();
      for (const key of live) opened.set(key.kid, key);
    },
  );
  await reload();
  // A failed reload keeps the keys already loaded (tokens keep verifying); it must show, or a key rotated on
  // another instance would go unnoticed here until a token signed with it arrives.
  const timer = setInterval(
    () => void reload().catch((error: unknown) => logger.error({ err: error }, "signing keys not reloaded; keeping the loaded ones")),
    RELOAD_INTERVAL_MS,
  );
  timer.unref?.();

  return {
    current: () => live[0] as LoadedKey,
    async find(kid) {
      const known = opened.get(kid);
      if (known !== undefined || Date.now() - lastUnknownKidReloadAt < UNKNOWN_KID_RELOAD_MS) return known;
      lastUnknownKidReloadAt = Date.now();
      await reload();
      return opened.get(kid);
    },
    jwks: () => ({ keys: live.map((key) => key.publicJwk) }),
    reload,
    close: () => clearInterval(timer),
  };
}

/**
 * Adds a new current key and retires the previous one (`servauth keys rotate`). Keys retired so long ago that
 * no token of theirs can be alive are deleted.
 */
export async function rotateSigningKey(handle: DatabaseHandle, box: SecretBox, options: SigningKeyOptions): Promise<string> {
  return handle.withAdvisoryLock(KEY_LOCK_ID, async () => {
    const now = new Date();
    await handle.db.update(signingKeys).set({ retiredAt: now }).where(isNull(signingKeys.retiredAt));
    await handle.db
      .delete(signingKeys)
      .where(and(isNotNull(signingKeys.retiredAt), lt(signingKeys.retiredAt, deadline(now, options.accessTtlSeconds))));
    return (await insertKey(handle, box)).kid;
  });
}

/**
 * The current key (the one not retired) first, then retired keys whose tokens may still be alive, newest first.
 * Current by `retired_at`, not by `created_at`: a rotation retires every other key, while timestamps come from
 * clocks that can step back (PGlite's is the process's).
 */
function liveKeyRows(handle: DatabaseHandle, accessTtlSeconds: number): Promise<KeyRow[]> {
  return handle.db
    .select()
    .from(signingKeys)
    .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, deadline(new Date(), accessTtlSeconds))))
    .orderBy(sql`${signingKeys.retiredAt} is null desc`, desc(signingKeys.createdAt));
}

/** A key retired before this moment signed its last token more than one token lifetime ago. */
function deadline(now: Date, accessTtlSeconds: number): Date {
  return new Date(now.getTime() - accessTtlSeconds * 1000);
}

async function insertKey(handle: DatabaseHandle, box: SecretBox): Promise<KeyRow> {
  const kid = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: "Ed25519", extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: "sig" };
  const [row] = await handle.db
    .insert(signingKeys)
    .values({
      kid,
      algorithm: SIGNING_ALGORITHM,
      publicJwk: JSON.stringify(publicJwk),
      sealedPrivateJwk: box.seal(JSON.stringify(await exportJWK(privateKey))),
    })
    .returning();
  if (row === undefined) throw new Error("signing key insert returned nothing");
  return row;
}

async function openKey(row: KeyRow, box: SecretBox): Promise<LoadedKey> {
  const publicJwk = JSON.parse(row.publicJwk) as JWK;
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(box.open(row.sealedPrivateJwk)) as JWK;
  } catch (cause) {
    throw new Error(`signing key ${row.kid} cannot be opened: was AUTH_SECRET changed?`, { cause });
  }
  return {
    kid: row.kid,
    publicJwk,
    publicKey: (await importJWK(publicJwk, SIGNING_ALGORITHM)) as CryptoKey,
    privateKey: (await importJWK(privateJwk, SIGNING_ALGORITHM)) as CryptoKey,
  };
}
