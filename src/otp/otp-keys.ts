import { randomBytes, randomUUID } from "node:crypto";
import { and, desc, gt, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { DatabaseHandle } from "../db/client.ts";
import { otpKeys } from "../db/tables/otp.ts";
import { latestLoadWins } from "../latest-load-wins.ts";
import type { Logger } from "../observability/logger.ts";
import { createSecretBox, type SecretBox } from "../tokens/secret-box.ts";

const OTP_KEY_LOCK_ID = 0x5e7a_0003;
/** How often an instance reloads the keys, and replaces the current one when it is due. */
export const OTP_KEY_RELOAD_MS = 60_000;
/** An unknown kid triggers a reload, but not more often than this (garbage kids must not hammer the database). */
const UNKNOWN_KID_RELOAD_MS = 5_000;

/** An AES-256-KW key-encryption key: 32 raw bytes. */
export type OtpKey = { kid: string; key: Uint8Array; createdAt: Date };

export type OtpKeyStore = {
  /** The key new challenges are wrapped with: the newest one not retired. */
  current(): OtpKey;
  /** A key that may still open challenges; on an unknown kid, looks in the database again (rate-limited). */
  find(kid: string): Promise<OtpKey | undefined>;
  reload(): Promise<void>;
  close(): void;
};

export type OtpKeyOptions = {
  /** OTP_KEY_ROTATION_DAYS: the current key is replaced once it is this old. */
  rotationDays: number;
  /** OTP_TTL: a challenge sealed under a key expires at most this long after. */
  challengeTtlSeconds: number;
};

/** The box the raw key-encryption keys are sealed in, derived from AUTH_SECRET. */
export function createOtpKeyBox(authSecret: string): SecretBox {
  return createSecretBox(authSecret, "otp-keys");
}

/**
 * The key-encryption keys, from the database; the first is created on first start and a new one whenever the
 * current one is older than the rotation period (under an advisory lock, so instances agree). A retired key keeps
 * opening challenges until every challenge it can have sealed has expired, then it is deleted.
 */
export async function loadOtpKeys(handle: DatabaseHandle, box: SecretBox, options: OtpKeyOptions, logger: Logger): Promise<OtpKeyStore> {
  await rotateOtpKey(handle, box, options, { onlyIfDue: true });
  let live: OtpKey[] = [];
  let lastUnknownKidReloadAt = 0;

  const reload = latestLoadWins(
    async () => {
      const rows = await handle.db
        .select()
        .from(otpKeys)
        .where(or(isNull(otpKeys.retiredAt), gt(otpKeys.retiredAt, retentionDeadline(new Date(), options))))
        // The current key (not retired) first, whatever the clocks said when the keys were made; see signing-keys.ts.
        .orderBy(sql`${otpKeys.retiredAt} is null desc`, desc(otpKeys.createdAt));
      if (rows.length === 0) throw new Error("no OTP key");
      return rows;
    },
    (rows) => {
      const known = new Map(live.map((key) => [key.kid, key]));
      live = rows.map((row) => known.get(row.kid) ?? openKey(row, box));
    },
  );
  await reload();
  const timer = setInterval(() => {
    void rotateOtpKey(handle, box, options, { onlyIfDue: true })
      .then(reload)
      // The loaded keys keep working; a rotation that keeps failing must show before the current key grows old.
      .catch((error: unknown) => logger.error({ err: error }, "OTP keys not rotated or reloaded; keeping the loaded ones"));
  }, OTP_KEY_RELOAD_MS);
  timer.unref?.();

  return {
    current: () => live[0] as OtpKey,
    async find(kid) {
      const known = live.find((key) => key.kid === kid);
      if (known !== undefined || Date.now() - lastUnknownKidReloadAt < UNKNOWN_KID_RELOAD_MS) return known;
      lastUnknownKidReloadAt = Date.now();
      await reload();
      return live.find((key) => key.kid === kid);
    },
    reload,
    close: () => clearInterval(timer),
  };
}

/**
 * Adds a new current key and retires the previous one; with `onlyIfDue`, only when there is no key yet or the
 * current one is older than the rotation period. Keys retired so long ago that nothing they sealed is alive are
 * deleted. Returns the current kid.
 */
export async function rotateOtpKey(
  handle: DatabaseHandle,
  box: SecretBox,
  options: OtpKeyOptions,
  { onlyIfDue = false } = {},
): Promise<string> {
  return handle.withAdvisoryLock(OTP_KEY_LOCK_ID, async () => {
    const now = new Date();
    const [current] = await handle.db.select().from(otpKeys).where(isNull(otpKeys.retiredAt)).orderBy(desc(otpKeys.createdAt)).limit(1);
    const dueBefore = new Date(now.getTime() - options.rotationDays * 86_400_000);
    if (onlyIfDue && current !== undefined && current.createdAt > dueBefore) return current.kid;
    await handle.db.update(otpKeys).set({ retiredAt: now }).where(isNull(otpKeys.retiredAt));
    await handle.db.delete(otpKeys).where(and(isNotNull(otpKeys.retiredAt), lt(otpKeys.retiredAt, retentionDeadline(now, options))));
    const kid = randomUUID();
    await handle.db.insert(otpKeys).values({ kid, sealedKey: box.seal(randomBytes(32).toString("base64url")) });
    return kid;
  });
}

/**
 * A key retired before this moment sealed its last challenge more than one challenge lifetime ago, allowing for
 * instances that keep wrapping with it until their next reload.
 */
function retentionDeadline(now: Date, options: OtpKeyOptions): Date {
  return new Date(now.getTime() - options.challengeTtlSeconds * 1000 - 2 * OTP_KEY_RELOAD_MS);
}

function openKey(row: typeof otpKeys.$inferSelect, box: SecretBox): OtpKey {
  let raw: string;
  try {
    raw = box.open(row.sealedKey);
  } catch (cause) {
    throw new Error(`OTP key ${row.kid} cannot be opened: was AUTH_SECRET changed?`, { cause });
  }
  return { kid: row.kid, key: new Uint8Array(Buffer.from(raw, "base64url")), createdAt: row.createdAt };
}
