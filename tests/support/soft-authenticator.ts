import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

/**
 * A software WebAuthn authenticator for http-level tests: ES256 keys from node:crypto, attestation "none", CBOR
 * written by hand (the few shapes WebAuthn needs). It answers the options the server hands out as a browser and
 * an authenticator together would, and can be told to misbehave (another origin or RP ID, no user verification,
 * a counter that does not move) so each of the server's checks can be seen to refuse. Test support, not production.
 */

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  if (length < 65_536) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

export function encodeCbor(value: Cbor): Buffer {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCbor)]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [encodeCbor(key), encodeCbor(item)])]);
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest();
const b64u = (data: Buffer | Uint8Array) => Buffer.from(data).toString("base64url");

const FLAG = { up: 0x01, uv: 0x04, be: 0x08, bs: 0x10, at: 0x40 } as const;

export type SoftCredential = {
  id: Buffer;
  privateKey: KeyObject;
  publicKey: KeyObject;
  rpId: string;
  userHandle: string;
  counter: number;
  /** A synced passkey: backup eligible and backed up, and (like those) its counter stays 0. */
  synced: boolean;
};

/** What a ceremony can be told to do differently from an honest browser and authenticator. */
export type Tamper = { origin?: string; rpId?: string; userVerified?: boolean; keepCounter?: boolean; challenge?: string; credential?: SoftCredential };

type CreationOptions = { challenge: string; rp: { id?: string }; user: { id: string } };
type RequestOptions = { challenge: string; rpId?: string };

function authenticatorData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
}

function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  const key = new Map<number, Cbor>([
    [1, 2],
    [3, -7],
    [-1, 1],
    [-2, Buffer.from(jwk.x ?? "", "base64url")],
    [-3, Buffer.from(jwk.y ?? "", "base64url")],
  ]);
  return encodeCbor(key);
}

export function createSoftAuthenticator(origin: string) {
  const credentials: SoftCredential[] = [];
  const clientData = (type: string, challenge: string, tamper: Tamper) =>
    Buffer.from(JSON.stringify({ type, challenge: tamper.challenge ?? challenge, origin: tamper.origin ?? origin, crossOrigin: false }));
  const flagsFor = (credential: SoftCredential, tamper: Tamper) =>
    FLAG.up | (tamper.userVerified === false ? 0 : FLAG.uv) | (credential.synced ? FLAG.be | FLAG.bs : 0);

  return {
    credentials,

    /** navigator.credentials.create() with these options; the new credential is kept for later assertions. */
    create(options: CreationOptions, tamper: Tamper & { synced?: boolean; credentialId?: Buffer } = {}) {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const rpId = tamper.rpId ?? options.rp.id ?? new URL(origin).hostname;
      const credential: SoftCredential = { id: tamper.credentialId ?? randomBytes(16), privateKey, publicKey, rpId, userHandle: options.user.id, counter: 0, synced: tamper.synced ?? false };
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credential.id.length);
      const attested = Buffer.concat([Buffer.alloc(16), idLength, credential.id, coseKey(publicKey)]);
      const authData = authenticatorData(rpId, flagsFor(credential, tamper) | FLAG.at, 0, attested);
      credentials.push(credential);
      const attestationObject = encodeCbor(new Map<string, Cbor>([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
      return {
        credential,
        response: {
          id: b64u(credential.id),
          rawId: b64u(credential.id),
          type: "public-key" as const,
          clientExtensionResults: {},
          response: { clientDataJSON: b64u(clientData("webauthn.create", options.challenge, tamper)), attestationObject: b64u(attestationObject), transports: ["internal"] },
        },
      };
    },

    /** navigator.credentials.get(): signs with `tamper.credential`, else the newest credential. Counts up unless synced. */
    get(options: RequestOptions, tamper: Tamper = {}) {
      const credential = tamper.credential ?? credentials.at(-1);
      if (credential === undefined) throw new Error("the soft authenticator has no credential");
      if (!credential.synced && tamper.keepCounter !== true) credential.counter += 1;
      const rpId = tamper.rpId ?? options.rpId ?? credential.rpId;
      const authData = authenticatorData(rpId, flagsFor(credential, tamper), credential.synced ? 0 : credential.counter);
      const clientDataJSON = clientData("webauthn.get", options.challenge, tamper);
      const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
      return {
        id: b64u(credential.id),
        rawId: b64u(credential.id),
        type: "public-key" as const,
        clientExtensionResults: {},
        response: { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authData), signature: b64u(signature), userHandle: credential.userHandle },
      };
    },
  };
}

export type SoftAuthenticator = ReturnType<typeof createSoftAuthenticator>;
