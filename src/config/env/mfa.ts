import { z } from "zod";

/** Second factors. */
export const mfaVariables = {
  MFA_POLICY: z
    .enum(["optional", "required"])
    .default("optional")
    .describe(
      "optional: users choose whether to set up a second factor. required: a signed-in user without one may only use GET /auth/me, " +
        "/auth/mfa/* (to enrol), /auth/passkeys/register/* (a passkey sign-in satisfies the policy), /auth/logout and /auth/reauthenticate until they set one up (403 MFA_ENROLLMENT_REQUIRED elsewhere), and cannot remove their last one.",
    ),
  MFA_ISSUER: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .refine((value) => !value.includes(":"), { message: "must not contain a colon (it separates issuer and account in an otpauth URI)" })
    .default("Servauth")
    .describe("The issuer authenticator apps show next to a TOTP entry (the otpauth URI's issuer and label prefix)."),
};
