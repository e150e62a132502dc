import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { asAdmin } from "../support/admin.ts";
import { auditTypes, enrolTotp, loginExpectingMfa, subjectsTo, totpAt, verifiedUser } from "../support/mfa.ts";
import { bearer, createTestApp, type TestApp } from "../support/test-app.ts";

/** Issue 17's second-factor parts: ADMIN_MFA_REQUIRED, DELETE /auth/admin/users/{id}/mfa, factors in GET user. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

/** A verified administrator with a second session opened before TOTP was set up (an aal 1 session). */
async function adminWithTotp(app: TestApp) {
  const admin = await verifiedUser(app);
  await app.services.admin.users.setRoles(admin.user.id, ["admin"], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
  const older = await app.request("POST", "/auth/login", admin.account);
  expect(older.status).toBe(200);
  const { accessToken: passwordOnly } = (await older.json()) as { accessToken: string };
  const { secret } = await enrolTotp(app, admin.accessToken, Date.now());
  return { ...admin, passwordOnly, secret };
}

describe("ADMIN_MFA_REQUIRED (default true)", () => {
  it("an administrator with a second factor needs a session that proved it; re-authenticating with it opens the API", async () => {
    const { accessToken, passwordOnly, secret } = await adminWithTotp(t);
    expect((await asAdmin(t, accessToken)("GET", "/auth/admin/users")).status).toBe(200);
    const refused = await asAdmin(t, passwordOnly)("GET", "/auth/admin/users");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain('acr_values="aal2"');
    expect(await refused.json()).toMatchObject({ code: "STEP_UP_REQUIRED", acrValues: "aal2" });
    // The next time step: the enrolment used the current one.
    const code = totpAt(secret, Date.now() + 30_000);
    const reauthenticated = await t.request("POST", "/auth/reauthenticate", { method: "totp", code }, bearer(passwordOnly));
    expect(reauthenticated.status, await reauthenticated.clone().text()).toBe(200);
    const { accessToken: raised } = (await reauthenticated.json()) as { accessToken: string };
    expect((await asAdmin(t, raised)("GET", "/auth/admin/users")).status).toBe(200);
  });

  it("false: the admin role alone is enough", async () => {
    const relaxed = await createTestApp({ ADMIN_MFA_REQUIRED: "false" });
    try {
      const { passwordOnly } = await adminWithTotp(relaxed);
      expect((await asAdmin(relaxed, passwordOnly)("GET", "/auth/admin/users")).status).toBe(200);
    } finally {
      await relaxed.close();
    }
  });
});

describe("DELETE /auth/admin/users/{id}/mfa", () => {
  it("removes every factor and recovery code: the user signs in with the password alone, is mailed, and it is audited", async () => {
    const admin = await verifiedUser(t);
    await t.services.admin.users.setRoles(admin.user.id, ["admin"], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
    const target = await verifiedUser(t);
    await enrolTotp(t, target.accessToken, Date.now());
    await loginExpectingMfa(t, target.account);
    const detail = async () => ((await (await asAdmin(t, admin.accessToken)("GET", `/auth/admin/users/${target.user.id}`)).json()) as { user: { secondFactors: Array<{ type: string }>; recoveryCodesLeft: number } }).user;
    expect(await detail()).toMatchObject({ secondFactors: [{ type: "totp" }], recoveryCodesLeft: 10 });

    expect((await asAdmin(t, admin.accessToken)("DELETE", `/auth/admin/users/${target.user.id}/mfa`)).status).toBe(204);
    expect(await detail()).toMatchObject({ secondFactors: [], recoveryCodesLeft: 0 });
    expect((await t.request("POST", "/auth/login", target.account)).status).toBe(200);
    await expect.poll(() => subjectsTo(t, target.user.email)).toContain("The second factors of your account were removed");
    expect(await auditTypes(t, target.user.id)).toContain("admin.mfa_reset");
    // Nothing left to remove: still 204, and no second mail.
    expect((await asAdmin(t, admin.accessToken)("DELETE", `/auth/admin/users/${target.user.id}/mfa`)).status).toBe(204);
    expect((await subjectsTo(t, target.user.email)).filter((subject) => subject.includes("were removed"))).toHaveLength(1);
  });

  it("an unknown user is 404", async () => {
    const admin = await verifiedUser(t);
    await t.services.admin.users.setRoles(admin.user.id, ["admin"], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
    expect((await asAdmin(t, admin.accessToken)("DELETE", "/auth/admin/users/00000000-0000-4000-8000-00000000beef/mfa")).status).toBe(404);
  });
});
