import { createLocalJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe("health, readiness and keys", () => {
  it("GET /health answers ok", async () => {
    const response = await t.request("GET", "/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("GET /ready answers 200 while the database answers", async () => {
    const response = await t.request("GET", "/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ready", checks: { database: "ok" } });
  });

  it("GET /.well-known/jwks.json publishes a key that verifies issued access tokens", async () => {
    const response = await t.request("GET", "/.well-known/jwks.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const jwks = await response.json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(jwks.keys[0].d).toBeUndefined();
    const { accessToken, user } = await registerUser(t);
    const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks), { issuer: TEST_ORIGIN, audience: "servauth" });
    expect(payload.sub).toBe(user.id);
  });
});

describe("when the database is gone", () => {
  it("answers /ready and database-backed routes with 503 DEPENDENCY_UNAVAILABLE and Retry-After, never 500", async () => {
    const broken = await createTestApp();
    try {
      await broken.services.database.close();
      for (const response of [
        await broken.request("GET", "/ready"),
        await broken.request("POST", "/auth/login", { email: "a@example.com", password: "whatever1" }),
      ]) {
        expect(response.status).toBe(503);
        expect(response.headers.get("retry-after")).toBe("5");
        expect((await response.json()).code).toBe("DEPENDENCY_UNAVAILABLE");
      }
    } finally {
      await broken.close();
    }
  });
});
