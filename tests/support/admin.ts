import { SYSTEM_AUDIT_CONTEXT } from "../../src/observability/audit.ts";
import { bearer, registerUser, type TestApp } from "./test-app.ts";

/** A registered user promoted to admin as the CLI would (no acting admin); their access token works as admin at once. */
export async function registerAdmin(t: TestApp, overrides: Parameters<typeof registerUser>[1] = {}) {
  const registered = await registerUser(t, overrides);
  await t.services.admin.users.setRoles(registered.user.id, ["admin"], { adminId: null, audit: SYSTEM_AUDIT_CONTEXT });
  return registered;
}

/** A JSON request to the admin API (or any route) as the holder of `token`. */
export function asAdmin(t: TestApp, token: string) {
  return (method: string, path: string, body?: unknown) => t.request(method, path, body, bearer(token));
}
