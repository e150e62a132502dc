import { AppError } from "../errors.ts";

/** OWASP ASVS 5 asks for at least 8; PASSWORD_MIN_LENGTH can only raise it. */
export const PASSWORD_MIN_LENGTH_FLOOR = 8;
/** Long enough for any passphrase (ASVS asks that at least 64 be allowed), short enough to bound the work per request. */
export const PASSWORD_MAX_LENGTH = 128;
/**
 * A bound on the text as sent, checked before normalizing it. Looser than the real limit, which is counted after
 * NFKC: 128 emoji are 256 UTF-16 units, and decomposed input (Hangul jamo, combining accents) shrinks when composed.
 */
export const PASSWORD_MAX_RAW_UNITS = 1024;
/**
 * Shorter local parts are not looked for in the password: "ann" would reject "channel-rainbow-kettle" and "jo" half
 * of all passphrases. Four letters ("john", "anna") are specific enough to be worth refusing.
 */
const EMAIL_NAME_MIN_LENGTH = 4;

/**
 * The form a password is checked, hashed and compared in: NFKC (NIST SP 800-63B 5.1.1.2), so a password typed as
 * "ｐａｓｓｗｏｒｄ" on a full-width keyboard is "password". The hasher applies the same normalization.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/** The length rules count code points of the normalized form: "🔑" is one character, not two UTF-16 units. */
export function passwordLength(password: string): number {
  return [...normalizePassword(password)].length;
}

/**
 * The parts of an address a password must not contain, lower-cased: the local part, and for a sub-address
 * ("ann.lee+shop@...") also the part before "+". Parts under EMAIL_NAME_MIN_LENGTH code points are left out.
 */
export function emailNameParts(email: string): string[] {
  const local = normalizePassword(email.slice(0, Math.max(email.lastIndexOf("@"), 0))).toLowerCase();
  const candidates = new Set([local, local.split("+")[0] ?? ""]);
  return [...candidates].filter((part) => [...part].length >= EMAIL_NAME_MIN_LENGTH);
}

export type PasswordPolicyDeps = {
  /** PASSWORD_MIN_LENGTH, at least PASSWORD_MIN_LENGTH_FLOOR. */
  minLength: number;
  /** The shipped list of common passwords (it normalizes and lower-cases on its own). */
  isCommon: (password: string) => Promise<boolean>;
  /** The optional Have I Been Pwned check; it fails open, so it only ever answers false when it cannot tell. */
  isPwned?: ((password: string) => Promise<boolean>) | undefined;
};

/** Which password and where it is in the request, so the error can name the field. */
export type PasswordSubject = { email: string; field: string };

/**
 * What a new password must be (OWASP ASVS 5, V6.2): long enough, not too long, not the user's own address, not on
 * a list of common or breached passwords. No composition rules ("a digit and a symbol"): they make passwords
 * harder to remember, not to guess. Applied wherever a password is set: registration, reset and change.
 */
export function createPasswordPolicy({ minLength, isCommon, isPwned }: PasswordPolicyDeps) {
  return {
    /** Resolves when the password may be set; throws VALIDATION_FAILED (length) or PASSWORD_TOO_COMMON. */
    async assertAcceptable(password: string, { email, field }: PasswordSubject): Promise<void> {
      const normalized = normalizePassword(password);
      const length = passwordLength(normalized);
      if (length < minLength) throw invalidLength(field, `Must be at least ${minLength} characters`);
      if (length > PASSWORD_MAX_LENGTH) throw invalidLength(field, `Must be at most ${PASSWORD_MAX_LENGTH} characters`);
      const folded = normalized.toLowerCase();
      if (emailNameParts(email).some((part) => folded.includes(part))) {
        throw tooCommon(field, "The password contains the name part of the email address, which is the first thing an attacker tries.");
      }
      if (await isCommon(normalized)) {
        throw tooCommon(field, "The password is one of the most common passwords and is guessed within seconds.");
      }
      if (isPwned !== undefined && (await isPwned(normalized))) {
        throw tooCommon(field, "The password appears in known data breaches (Have I Been Pwned), so attackers already try it.");
      }
    },
  };
}

export type PasswordPolicy = ReturnType<typeof createPasswordPolicy>;

function invalidLength(field: string, message: string): AppError {
  return new AppError("VALIDATION_FAILED", { errors: [{ path: field, message }] });
}

function tooCommon(field: string, reason: string): AppError {
  const advice = "Choose another one; a few unrelated words make a strong password that is easy to remember.";
  return new AppError("PASSWORD_TOO_COMMON", { message: `${reason} ${advice}`, errors: [{ path: field, message: reason }] });
}
