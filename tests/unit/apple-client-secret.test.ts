import { exportPKCS8, exportJWK, generateKeyPair, importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createAppleClientSecret } from "../../src/oauth/apple-client-secret.ts";

describe("Apple's client secret", () => {
  it("is an ES256 JWT from the team about the client for Apple, signed with the key, and reused for half its hour", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    let now = new Date("2026-01-01T00:00:00Z");
    const secretOf = createAppleClientSecret({ teamId: "TEAM123456", keyId: "KEY1234567", privateKey: await exportPKCS8(privateKey) }, "com.example.web", () => now);

    const secret = await secretOf();
    const { payload, protectedHeader } = await jwtVerify(secret, await importJWK(await exportJWK(publicKey), "ES256"), {
      issuer: "TEAM123456",
      subject: "com.example.web",
      audience: "https://appleid.apple.com",
      currentDate: now,
    });
    expect(protectedHeader).toEqual({ alg: "ES256", kid: "KEY1234567" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);

    now = new Date(now.getTime() + 29 * 60_000);
    expect(await secretOf()).toBe(secret);
    now = new Date(now.getTime() + 2 * 60_000);
    expect(await secretOf()).not.toBe(secret);
  });
});
