import { AppError } from "../../errors.ts";
import type { Authentication } from "../app-env.ts";

/**
 * What a session of a user without a second factor may still do under MFA_POLICY=required: see who it is, enrol
 * (a passkey too: its sign-in satisfies the policy), sign out, and re-authenticate (enrolling is a step-up action).
 */
function isAllowedBeforeEnrolment(method: string, path: string): boolean {
  if (path === "/auth/mfa" || path.startsWith("/auth/mfa/") || path.startsWith("/auth/passkeys/register/")) return true;
  if (method === "GET" && path === "/auth/me") return true;
  return method === "POST" && (path === "/auth/logout" || path === "/auth/reauthenticate");
}

/**
 * Whether the user's second factor really is a second one for this session. A session proven by mailed codes alone
 * has one factor whatever the account has set up: email codes "as a second factor" of an account without another
 * first factor (refused since, MFA_FACTOR_NOT_SECOND, but possibly stored before) must not satisfy the policy.
 * A passkey sign-in with user verification (amr `user`) is two factors in itself and satisfies it too.
 */
const hasSecondFactor = ({ user, session }: Authentication) =>
  (user.mfaEnabled && session.amr.some((method) => method !== "email")) || session.amr.includes("user");

/**
 * The MFA_POLICY=required gate, on the hot path: it reads users.mfa_enabled from the user the session cache already
 * holds (reloaded on every instance when a factor is added: the enrolment publishes the user on the bus) and the
 * session's amr, so it costs no query. Returns the refusal, or null to let the request through.
 */
export function createEnrollmentGate(policy: "optional" | "required") {
  const check = createEnrollmentCheck(policy);
  return (auth: Authentication, method: string, path: string): AppError | null => (isAllowedBeforeEnrolment(method, path) ? null : check(auth));
}

/**
 * An administrator impersonating the user (issue 17) is not sent to enrol: enrolling is the user's own job, and an
 * impersonation session can neither enrol nor remove a factor (src/flows/step-up.ts refuses it every sensitive
 * action), so the gate would leave it nothing to do. Letting it through gains it nothing else: what it may not do is
 * refused by step-up whatever the policy.
 */
const isImpersonation = ({ session }: Authentication) => session.impersonatorId !== null;

/** The gate's test without its route list, for GraphQL, which allows `me` and `logout` per field instead. */
export function createEnrollmentCheck(policy: "optional" | "required") {
  return (auth: Authentication): AppError | null =>
    policy === "optional" || hasSecondFactor(auth) || isImpersonation(auth) ? null : new AppError("MFA_ENROLLMENT_REQUIRED");
}
