import { describe, expect, it } from "vitest";
import { matchesS256Challenge } from "../../src/oauth/pkce.ts";

// RFC 7636, Appendix B.
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

describe("matchesS256Challenge", () => {
  it("accepts the RFC's verifier for its challenge", () => {
    expect(matchesS256Challenge(VERIFIER, CHALLENGE)).toBe(true);
  });

  it("refuses another verifier, the challenge itself as verifier, and a challenge of another length or spelling", () => {
    expect(matchesS256Challenge(`${VERIFIER.slice(0, -1)}j`, CHALLENGE)).toBe(false);
    expect(matchesS256Challenge(CHALLENGE, CHALLENGE)).toBe(false);
    expect(matchesS256Challenge(VERIFIER, CHALLENGE.slice(0, -1))).toBe(false);
    // Same bytes in base64url, other trailing bits: not the canonical challenge.
    expect(matchesS256Challenge(VERIFIER, `${CHALLENGE.slice(0, -1)}N`)).toBe(false);
    expect(matchesS256Challenge(VERIFIER, "")).toBe(false);
  });
});
