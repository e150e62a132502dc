import { z } from "@hono/zod-openapi";
import type { PasskeyRow } from "../passkeys/passkey-store.ts";
import { plainText } from "./schemas.ts";

/**
 * WebAuthn credentials as JSON (PublicKeyCredential.toJSON(), or @simplewebauthn/browser): base64url fields with
 * bounds, so nothing huge reaches the CBOR and signature code. A browser may send padding or a null userHandle.
 */
const base64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*={0,2}$/, "Must be base64url");
const CredentialId = base64url(1368).min(1);
const clientExtensionResults = z.record(z.string(), z.unknown()).default({}).openapi({ type: "object" });

/** What every PublicKeyCredential carries besides its ceremony's `response`. */
const credentialFields = {
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults,
};

export const AssertionResponse = z
  .object({
    ...credentialFields,
    response: z.object({
      clientDataJSON: base64url(8192),
      authenticatorData: base64url(8192),
      signature: base64url(2048),
      userHandle: base64url(128)
        .nullish()
        .transform((value) => value ?? undefined),
    }),
  })
  .openapi("WebAuthnAssertion", { description: "What navigator.credentials.get() resolved to, as PublicKeyCredential.toJSON() gives it" });

export const AttestationResponse = z
  .object({
    ...credentialFields,
    response: z.object({
      clientDataJSON: base64url(8192),
      attestationObject: base64url(32_768),
      authenticatorData: base64url(8192).optional(),
      transports: z.array(z.string().max(32)).max(16).optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: base64url(8192).optional(),
    }),
  })
  .openapi("WebAuthnAttestation", { description: "What navigator.credentials.create() resolved to, as PublicKeyCredential.toJSON() gives it" });

/** Options for navigator.credentials.create()/get(), in their JSON form (PublicKeyCredential.parse*OptionsFromJSON). */
export const CeremonyOptions = (name: string, description: string) =>
  z.object({ challenge: z.string() }).catchall(z.unknown()).openapi(name, { description });

export const PasskeyName = plainText(64).openapi({ example: "Work laptop", description: "Shown in the list and in mail to the owner" });

export const PasskeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    backedUp: z.boolean().openapi({ description: "The authenticator says the key is backed up (synced to other devices)" }),
    deviceType: z.enum(["singleDevice", "multiDevice"]).openapi({ description: "multiDevice: a synced passkey; singleDevice: bound to one authenticator" }),
    transports: z.array(z.string()).openapi({ description: "How the browser can reach the authenticator (internal, usb, nfc, ble, hybrid)" }),
  })
  .openapi("Passkey");

export function passkeyJson(row: PasskeyRow): z.infer<typeof PasskeySchema> {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    backedUp: row.backedUp,
    deviceType: row.deviceType,
    transports: row.transports,
  };
}
