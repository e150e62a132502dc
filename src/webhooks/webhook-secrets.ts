import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { SecretBox } from "../tokens/secret-box.ts";

/** The box's purpose label: endpoint secrets must be usable for signing, so they are sealed, not hashed. */
export const WEBHOOK_SECRET_BOX_PURPOSE = "webhook-secret";
/** After a rotation the old secret keeps signing alongside the new one this long, so receivers can switch over. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** A Standard Webhooks secret: "whsec_" and 32 random bytes in base64. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`;

export type EndpointSecrets = { sealedSecret: string; previousSealedSecret: string | null; previousSecretExpiresAt: Date | null };

/**
 * The Standard Webhooks headers for one delivery: `webhook-signature` holds a signature per live secret
 * (space-separated, as the specification allows), so a receiver holding either secret verifies it. `at` is the
 * signature's timestamp, `now` decides whether the previous secret still signs.
 */
export function signWebhook(box: SecretBox, secrets: EndpointSecrets, message: { id: string; body: string }, at: Date, now: Date): Record<string, string> {
  const live = [secrets.sealedSecret];
  if (secrets.previousSealedSecret !== null && secrets.previousSecretExpiresAt !== null && secrets.previousSecretExpiresAt > now) live.push(secrets.previousSealedSecret);
  const signatures = live.map((sealed) => new Webhook(box.open(sealed)).sign(message.id, at, message.body));
  return { "webhook-id": message.id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signatures.join(" ") };
}
