import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadBreachedList } from "../../src/auth/breached-passwords.ts";
import { createArgon2Hasher } from "../../src/auth/password.ts";
import { createPasswordPolicy, emailNameParts, normalizePassword, type PasswordPolicyDeps, passwordLength } from "../../src/auth/password-policy.ts";
import { AppError } from "../../src/errors.ts";
import { NewPassword } from "../../src/http/schemas.ts";

const isCommon = async (password: string) => (await loadBreachedList()).has(password);
const policyWith = (overrides: Partial<PasswordPolicyDeps> = {}) => createPasswordPolicy({ minLength: 8, isCommon, ...overrides });
const policy = policyWith();
const subject = { email: "ann.lee@example.com", field: "password" };

/** The AppError the policy throws for `password`, or null when it accepts it. */
async function refusal(password: string, on = subject, checked = policy) {
  try {
    await checked.assertAcceptable(password, on);
    return null;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, message: error.message, errors: error.errors };
  }
}

/** 16 characters from a 64-symbol alphabet: 96 bits, nowhere near any list. */
function randomStrongPassword(): string {
  return randomBytes(12).toString("base64url");
}

describe("the common-password rule", () => {
  it.each(["password", "123456789", "qwertyuiop", "iloveyou", "PassWord", "QWERTYUIOP", "Password1", "ｐａｓｓｗｏｒｄ１"])(
    "refuses %j with PASSWORD_TOO_COMMON on the given field",
    async (password) => {
      const refused = await refusal(password, { email: "ann.lee@example.com", field: "newPassword" });
      expect(refused).toMatchObject({ code: "PASSWORD_TOO_COMMON", errors: [{ path: "newPassword", message: expect.stringMatching(/most common/) }] });
      expect(refused?.message).toMatch(/most common passwords.*Choose another one/);
    },
  );

  it("accepts 50 random strong passwords", async () => {
    for (let index = 0; index < 50; index += 1) {
      const password = randomStrongPassword();
      expect(await refusal(password), password).toBeNull();
    }
  });

  it("accepts passphrases", async () => {
    for (const password of ["correct horse battery staple", "violet kettle orbit 42", "Ünïcödé pässphrâse"]) {
      expect(await refusal(password), password).toBeNull();
    }
  });
});

describe("the email rule", () => {
  it.each([
    ["the local part itself", "john.smith@example.com", "john.smith"],
    ["the local part in another case", "johnsmith1@example.com", "JohnSmith1"],
    ["the local part inside a longer password", "john.smith@example.com", "x-John.Smith-1987!"],
    ["the name before a +tag", "anna+news@example.com", "anna-in-wonderland"],
    ["the whole address", "mia.wong@example.com", "mia.wong@example.com"],
  ])("refuses %s", async (_label, email, password) => {
    const refused = await refusal(password, { email, field: "password" });
    expect(refused).toMatchObject({ code: "PASSWORD_TOO_COMMON", errors: [{ path: "password", message: expect.stringMatching(/email/) }] });
  });

  it("ignores local parts under 4 characters, which would refuse ordinary words", async () => {
    expect(await refusal("channel-rainbow-kettle", { email: "ann@example.com", field: "password" })).toBeNull();
    expect(await refusal("bob-the-builder-2024", { email: "bob@example.com", field: "password" })).toBeNull();
    expect(await refusal("quiet-jade-river", { email: "jade@example.com", field: "password" })).not.toBeNull();
  });

  it("lists the parts it looks for", () => {
    expect(emailNameParts("Ann.Lee+Shop@example.com")).toEqual(["ann.lee+shop", "ann.lee"]);
    expect(emailNameParts("joe+x@example.com")).toEqual(["joe+x"]);
    expect(emailNameParts("al@example.com")).toEqual([]);
    expect(emailNameParts("ｍａｒｙ@example.com")).toEqual(["mary"]);
  });
});

describe("the length rule", () => {
  it("uses the configured minimum (PASSWORD_MIN_LENGTH)", async () => {
    const strict = policyWith({ minLength: 12 });
    expect(await refusal("violetkettl", subject, strict)).toEqual({
      code: "VALIDATION_FAILED",
      message: expect.any(String),
      errors: [{ path: "password", message: "Must be at least 12 characters" }],
    });
    expect(await refusal("violetkettle", subject, strict)).toBeNull();
    expect(await refusal("violetkettl", subject)).toBeNull();
  });

  it("refuses more than 128 characters", async () => {
    const long = randomBytes(200).toString("base64url").slice(0, 129);
    expect(await refusal(long)).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "password", message: "Must be at most 128 characters" }] });
    expect(await refusal(long.slice(0, 128))).toBeNull();
  });
});

describe("Unicode", () => {
  it.each([
    ["an emoji is one character, not two UTF-16 units", "🔑🌙🎲🦊🍋🚲🎻🧭", 8],
    ["a decomposed accent composes into one character", "cafe\u0301-cre\u0300me", 10],
    ["a ligature expands into its letters", "ﬃﬃﬃ", 9],
    ["full-width letters become ASCII", "ｂｌｕｅｓｋｙ", 7],
  ])("counts code points after NFKC: %s", async (_label, password, expected) => {
    expect(passwordLength(password)).toBe(expected);
    expect((await refusal(password)) === null).toBe(expected >= 8);
  });

  it("accepts 128 emoji and refuses 129", async () => {
    const emoji = ["🔑", "🌙", "🎲", "🦊"];
    const make = (count: number) => Array.from({ length: count }, () => emoji[randomInt(emoji.length)]).join("");
    expect(await refusal(make(128))).toBeNull();
    expect(await refusal(make(129))).toMatchObject({ code: "VALIDATION_FAILED" });
  });

  it("the request schema hands on the normalized form, with the same length rules as the policy", async () => {
    const samples = ["ｐａｓｓ", "ﬃﬃﬃ", "🔑".repeat(7), "🔑".repeat(8), "e\u0301".repeat(8), "x".repeat(128), "🔑".repeat(128), "🔑".repeat(129)];
    const lenient = policyWith({ isCommon: async () => false });
    for (const raw of samples) {
      const parsed = NewPassword.safeParse(raw);
      const accepted = (await refusal(raw, subject, lenient)) === null;
      expect(parsed.success, raw).toBe(accepted);
      if (parsed.success) expect(parsed.data).toBe(normalizePassword(raw));
    }
  });

  it("what the schema hands on verifies against the password as typed in any equivalent form", async () => {
    const hasher = createArgon2Hasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });
    const parsed = NewPassword.parse("ｃａｆｅ\u0301 ﬁsh ２０２４");
    expect(parsed).toBe("café fish 2024");
    const stored = await hasher.hash(parsed);
    expect(await hasher.verify(stored, "café fish 2024")).toBe(true);
    expect(await hasher.verify(stored, "ｃａｆｅ\u0301 ﬁsh ２０２４")).toBe(true);
  });
});

describe("the online check", () => {
  it("refuses what Have I Been Pwned knows, after the offline checks, with the normalized password", async () => {
    const asked: string[] = [];
    const checked = policyWith({
      isPwned: async (password) => {
        asked.push(password);
        return password === "violet kettle orbit";
      },
    });
    expect(await refusal("ｖｉｏｌｅｔ kettle orbit", subject, checked)).toMatchObject({
      code: "PASSWORD_TOO_COMMON",
      message: expect.stringMatching(/data breaches/),
    });
    expect(await refusal("password", subject, checked)).toMatchObject({ code: "PASSWORD_TOO_COMMON" });
    expect(await refusal("amber kettle orbit", subject, checked)).toBeNull();
    // "password" was settled by the offline list and never sent anywhere.
    expect(asked).toEqual(["violet kettle orbit", "amber kettle orbit"]);
  });
});
