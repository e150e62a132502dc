import { MAX_CREDENTIALS } from "../../otp/sealed-state.ts";
import { z } from "zod";
import { flag } from "./fields.ts";

/** One-time codes mailed for sign-in, email verification and re-authentication. */
export const otpVariables = {
  OTP_LENGTH: z.coerce.number().int().min(6).max(10).default(6).describe("Digits per one-time code."),
  OTP_TTL: z.coerce.number().int().min(1).max(86_400).default(300).describe("Seconds a one-time code is valid."),
  OTP_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5).describe("Wrong codes a challenge takes; the last one burns it (OTP_TOO_MANY_ATTEMPTS)."),
  OTP_RESEND_DELAY: z
    .coerce.number()
    .int()
    .min(0)
    .max(3600)
    .default(30)
    .describe("Seconds before another code goes to the same address (a resend or a new challenge); the default of RATE_LIMIT_OTP_SEND_DELAY follows it."),
  OTP_MAX_RESENDS: z.coerce.number().int().min(0).max(20).default(3).describe("Resends one challenge allows (then OTP_RESEND_LIMIT)."),
  /** At most MAX_CREDENTIALS: the sealed state travels in a cookie, and five 255-character addresses keep it under the 4 KB browsers store. */
  OTP_MAX_CREDENTIALS: z
    .coerce.number()
    .int()
    .min(1)
    .max(MAX_CREDENTIALS)
    .default(3)
    .describe("Addresses one challenge may hold (switching between them sends no new code)."),
  OTP_SIGNUP: flag(false).describe(
    "true: a right sign-in code to an address without an account creates the account (verified, no password). false: such an address is answered like any other and mailed nothing.",
  ),
  OTP_KEY_ROTATION_DAYS: z
    .coerce.number()
    .int()
    .min(1)
    .max(365)
    .default(30)
    .describe("Age in days at which the key-encryption key that seals one-time-code challenges is replaced."),
};
