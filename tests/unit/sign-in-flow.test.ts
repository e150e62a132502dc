import { describe, expect, it } from "vitest";
import type { UserRow } from "../../src/auth/users.ts";
import { userRow } from "../support/user-row.ts";
import { AppError } from "../../src/errors.ts";
import { type Attempt, createSignInFlow, type Proof, type Strategy } from "../../src/flows/sign-in-flow.ts";
import { assuranceOf, type AuthMethod } from "../../src/sessions/assurance.ts";
import type { IssuedSession } from "../../src/sessions/session-service.ts";

/** The flow over fakes: strategies that pass or fail, a session store that records, a clock that is set. */
const NOW = new Date("2026-06-01T12:00:00.000Z");

const user = (overrides: Partial<UserRow> = {}) => userRow(NOW, overrides);

function harness(options: { refuse?: (user: UserRow) => void } = {}) {
  const created: AuthMethod[][] = [];
  const revoked: string[] = [];
  const audited: Array<{ type: string; payload?: Record<string, unknown> }> = [];
  const challenged: Array<{ userId: string; firstMethod: AuthMethod }> = [];
  const flow = createSignInFlow({
    sessions: {
      async create(userId, _client, methods): Promise<IssuedSession> {
        created.push(methods);
        const session = { id: `session-${created.length}`, userId, createdAt: NOW, expiresAt: new Date(NOW.getTime() + 3_600_000), impersonatorId: null };
        return { session: { ...session, ...assuranceOf(methods, NOW) }, sessionToken: "s", refreshToken: "r", evictedSessionIds: ["old-session"] };
      },
      async revoke(_userId, sessionId) {
        revoked.push(sessionId);
        return true;
      },
    },
    audit: {
      async recordAll(entries) {
        for (const { type, event } of entries) audited.push({ type, ...(event.payload ? { payload: event.payload } : {}) });
      },
    },
    assertMaySignIn: (candidate) => options.refuse?.(candidate),
    secondFactor: {
      isRequired: (candidate) => candidate.mfaEnabled,
      async challenge(candidate, firstMethod) {
        challenged.push({ userId: candidate.id, firstMethod });
        return { mfaToken: "token-1", methods: ["totp", "recovery_code"], expiresAt: NOW.toISOString() };
      },
    },
  });
  return { flow, created, revoked, audited, challenged };
}

const attempt: Attempt = {
  client: { ipAddress: "192.0.2.1", userAgent: "test" },
  audit: { ipAddress: "192.0.2.1", userAgent: "test", requestId: "r1", sessionId: null },
  limits: { consume: async () => {}, consumeInOrder: async () => {}, assertBelow: async () => {}, countDistinct: async () => {}, reset: async () => {}, refund: async () => {} },
};

const passing = (proof: Proof): Strategy<null> => ({ prove: async () => proof });
const failing: Strategy<null> = {
  async prove() {
    throw new AppError("INVALID_CREDENTIALS");
  },
};

describe("sign-in flow", () => {
  it("a strategy that fails makes no session and audits no success", async () => {
    const { flow, created, audited } = harness();
    await expect(flow.signIn(failing, null, attempt)).rejects.toMatchObject({ code: "INVALID_CREDENTIALS" });
    expect(created).toEqual([]);
    expect(audited).toEqual([]);
  });

  it("a passing strategy gets a session with its method, the evictions and the success audited", async () => {
    const { flow, created, audited } = harness();
    const { issued } = await flow.signIn(passing({ user: user(), method: "pwd" }), null, attempt);
    expect(created).toEqual([["pwd"]]);
    expect(issued.session).toMatchObject({ amr: ["pwd"], aal: 1, authTime: NOW });
    expect(audited).toEqual([{ type: "login.succeeded" }, { type: "session.evicted", payload: { reason: "session cap" } }]);
  });

  it("names the way in when the proof has one", async () => {
    const { flow, audited } = harness();
    await flow.signInProven([{ user: user(), method: "email", via: "otp" }], attempt);
    expect(audited[0]).toEqual({ type: "login.succeeded", payload: { via: "otp" } });
  });

  it("a second factor of another kind makes aal 2, in the order used; a second code of the same kind does not", async () => {
    const { flow } = harness();
    const twoKinds = await flow.issue([{ user: user(), method: "pwd" }, { user: user(), method: "email" }], attempt, { type: "login.succeeded" });
    expect(twoKinds.issued.session).toMatchObject({ amr: ["pwd", "email", "mfa"], aal: 2 });
    const oneKind = await flow.issue([{ user: user(), method: "email" }, { user: user(), method: "otp" }], attempt, { type: "login.succeeded" });
    expect(oneKind.issued.session).toMatchObject({ amr: ["email", "otp"], aal: 1 });
  });

  it("a user who may not sign in gets no session", async () => {
    const { flow, created } = harness({
      refuse: () => {
        throw new AppError("ACCOUNT_PENDING_DELETION");
      },
    });
    await expect(flow.signIn(passing({ user: user(), method: "pwd" }), null, attempt)).rejects.toMatchObject({ code: "ACCOUNT_PENDING_DELETION" });
    expect(created).toEqual([]);
  });

  it("a proof withdrawn while the session was made ends that session (INVALID_CREDENTIALS)", async () => {
    const { flow, revoked, audited } = harness();
    const withdrawn = passing({ user: user(), method: "pwd", stillEntitled: async () => false });
    await expect(flow.signIn(withdrawn, null, attempt)).rejects.toMatchObject({ code: "INVALID_CREDENTIALS" });
    expect(revoked).toEqual(["session-1"]);
    expect(audited.map((event) => event.type)).not.toContain("login.succeeded");
  });

  it("one factor of a user with a second factor is MFA_REQUIRED with the challenge, and makes no session", async () => {
    const { flow, created, challenged, audited } = harness();
    const error = await flow.signIn(passing({ user: user({ mfaEnabled: true }), method: "pwd" }), null, attempt).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "MFA_REQUIRED", status: 403, extensions: { mfaToken: "token-1", methods: ["totp", "recovery_code"] } });
    expect(challenged).toEqual([{ userId: user().id, firstMethod: "pwd" }]);
    expect(created).toEqual([]);
    expect(audited.map((event) => event.type)).not.toContain("login.succeeded");
  });

  it("a user who may not sign in gets no mfaToken either", async () => {
    const { flow, challenged } = harness({
      refuse: () => {
        throw new AppError("ACCOUNT_PENDING_DELETION");
      },
    });
    await expect(flow.signIn(passing({ user: user({ mfaEnabled: true }), method: "email" }), null, attempt)).rejects.toMatchObject({
      code: "ACCOUNT_PENDING_DELETION",
    });
    expect(challenged).toEqual([]);
  });

  it("both factors of a user with a second factor make an aal 2 session without a new challenge", async () => {
    const { flow, created, challenged } = harness();
    const mfaUser = user({ mfaEnabled: true });
    const { issued } = await flow.issue([{ user: mfaUser, method: "pwd" }, { user: mfaUser, method: "otp" }], attempt, { type: "login.succeeded" });
    expect(issued.session).toMatchObject({ amr: ["pwd", "otp", "mfa"], aal: 2 });
    expect(created).toEqual([["pwd", "otp"]]);
    expect(challenged).toEqual([]);
  });

  it("refuses proofs that name different users", async () => {
    const { flow, created } = harness();
    const proofs: Proof[] = [{ user: user(), method: "pwd" }, { user: user({ id: "00000000-0000-4000-8000-000000000002" }), method: "email" }];
    await expect(flow.issue(proofs, attempt, { type: "login.succeeded" })).rejects.toThrow("one user");
    expect(created).toEqual([]);
  });
});

describe("assuranceOf", () => {
  it("keeps the order used, drops repeats, and keeps the time given", () => {
    expect(assuranceOf(["email", "pwd", "email"], NOW)).toEqual({ amr: ["email", "pwd", "mfa"], aal: 2, authTime: NOW });
    expect(assuranceOf(["email", "email"], NOW)).toEqual({ amr: ["email"], aal: 1, authTime: NOW });
    expect(assuranceOf(["pwd", "mfa"], NOW)).toEqual({ amr: ["pwd"], aal: 1, authTime: NOW });
  });
});
