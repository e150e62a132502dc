import { randomUUID } from "node:crypto";
import { desc } from "drizzle-orm";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { DatabaseHandle } from "../db/client.ts";
import { signingKeys } from "../db/tables/signing-keys.ts";
import type { SecretBox } from "./secret-box.ts";

export const SIGNING_ALGORITHM = "EdDSA";
const KEY_BOOTSTRAP_LOCK_ID = 0x5e7a_0002;

type LoadedKey = { kid: string; publicJwk: JWK; publicKey: CryptoKey; privateKey: CryptoKey };

export type SigningKeyStore = {
  /** The key new tokens are signed with (the newest). */
  current(): LoadedKey;
  find(kid: string): LoadedKey | undefined;
  /** The public half of every key, as published at /.well-known/jwks.json. */
  jwks(): { keys: JWK[] };
};

/**
 * Loads the Ed25519 signing keys from the database, creating the first one on first start (under an advisory
 * lock, so instances starting together agree on it). Private keys are stored sealed by the secret box.
 */
export async function loadSigningKeys(handle: DatabaseHandle, box: SecretBox): Promise<SigningKeyStore> {
  const rows = await handle.withAdvisoryLock(KEY_BOOTSTRAP_LOCK_ID, async () => {
    const existing = await handle.db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt));
    if (existing.length > 0) return existing;
    return [await insertNewKey(handle, box)];
  });
  const keys = await Promise.all(rows.map((row) => openKey(row, box)));
  const byKid = new Map(keys.map((key) => [key.kid, key]));
  const newest = keys[0];
  if (newest === undefined) throw new Error("no signing key");
  return {
    current: () => newest,
    find: (kid) => byKid.get(kid),
    jwks: () => ({ keys: keys.map((key) => key.publicJwk) }),
  };
}

async function insertNewKey(handle: DatabaseHandle, box: SecretBox) {
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

async function openKey(row: typeof signingKeys.$inferSelect, box: SecretBox): Promise<LoadedKey> {
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
