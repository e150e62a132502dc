import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * AES-256-GCM sealing for secrets at rest (signing keys). The key is derived from AUTH_SECRET with HKDF and a
 * purpose label, so one AUTH_SECRET yields independent keys per purpose. Sealed form: v1.<iv>.<tag>.<ciphertext>.
 */
const TAG_BYTES = 16;

export function createSecretBox(authSecret: string, purpose: string) {
  const key = Buffer.from(hkdfSync("sha256", authSecret, "servauth", `servauth:${purpose}`, 32));
  return {
    seal(plaintext: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
    },
    /** Throws if the value was not sealed by this box (wrong AUTH_SECRET, tampering). */
    open(sealed: string): string {
      const parts = sealed.split(".");
      const [version, iv, tag, ciphertext] = parts;
      if (parts.length !== 4 || version !== "v1" || iv === undefined || tag === undefined || ciphertext === undefined) {
        throw new Error("not a sealed value");
      }
      const authTag = Buffer.from(tag, "base64url");
      // A full 16-byte tag only: GCM would otherwise accept a truncated tag and check just its bytes.
      if (authTag.length !== TAG_BYTES) throw new Error("not a sealed value");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
