import { z } from "zod";
import { RoleName } from "../admin/roles.ts";
import { findUserByEmail, toPublicUser } from "../auth/users.ts";
import { Email, NewPassword, Username } from "../http/schemas.ts";
import { type Command, parseCommandArgs, UsageError } from "./command.ts";
import { CLI_AUDIT_CONTEXT, withServices } from "./open-services.ts";
import { readSecretFromStdin } from "./read-stdin.ts";
import { listUsersWithSessionCounts } from "./user-queries.ts";

const EMBEDDED_NOTE = "On the embedded database (no DATABASE_URL) stop the server first: PGlite is single-process.";

/** The same input rules as POST /auth/register; the password policy (PASSWORD_MIN_LENGTH, HIBP) applies after. */
const NewUserInput = z.object({ email: Email, password: NewPassword, username: Username.optional() });

function validationMessage(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "input"}: ${issue.message}`).join("; ");
}

export const usersCreateCommand: Command = {
  name: "users create",
  summary: "create a user with a password read from standard input",
  help: `usage: servauth users create --email EMAIL --password-stdin [--username NAME]

Creates a user with an email and password account exactly as POST /auth/register does (the same input rules and
password policy, Better-Auth, an audit event, a verification mail to the address), without signing in. The
password is read from standard input, never from the command line:
  printf '%s' "$PASSWORD" | servauth users create --email ann@example.com --password-stdin

  --email EMAIL       the user's email address (required)
  --password-stdin    read the password from standard input (required)
  --username NAME     an optional username (3-32 of A-Z a-z 0-9 _ . -)
  --role ROLES        roles to give, comma-separated (e.g. admin): how the first administrator is made;
                      names are a-z 0-9 _ - (at most 32), and every user also has the role user

${EMBEDDED_NOTE}
`,
  async run(args) {
    const { values } = parseCommandArgs(args, {
      email: { type: "string" },
      "password-stdin": { type: "boolean" },
      username: { type: "string" },
      role: { type: "string" },
    });
    const roles = values.role === undefined ? undefined : parseRoles(values.role);
    if (values.email === undefined) throw new UsageError("--email is required");
    if (values["password-stdin"] !== true) throw new UsageError("--password-stdin is required (the password is never an argument)");
    const password = await readSecretFromStdin();
    if (password === "") throw new UsageError("no password on standard input");
    const input = NewUserInput.safeParse({ email: values.email, password, username: values.username });
    if (!input.success) throw new UsageError(validationMessage(input.error));

    const user = await withServices(async ({ registration, audit, admin }) => {
      // The operator is told a taken address plainly: there is nobody to conceal it from.
      const created = await registration.register(input.data);
      await audit.record("user.registered", { userId: created.id, payload: { via: "cli" } }, CLI_AUDIT_CONTEXT);
      return roles === undefined ? created : admin.users.setRoles(created.id, roles, CLI_ACTOR);
    });
    process.stdout.write(`created user ${user.id} ${user.email}${roles === undefined ? "" : ` with roles ${user.roles.join(",")}`}\n`);
  },
};

export const usersListCommand: Command = {
  name: "users list",
  summary: "list users (a table, or JSON lines with --json); never a secret",
  help: `usage: servauth users list [--json]

Lists every user, oldest first, with the number of sessions that have not expired. No password hash, token or
other secret is ever printed.

  --json    one JSON object per line instead of a table

${EMBEDDED_NOTE}
`,
  async run(args) {
    const { values } = parseCommandArgs(args, { json: { type: "boolean" } });
    const rows = await withServices(({ database }) => listUsersWithSessionCounts(database.db));
    const listed = rows.map(({ user, activeSessions }) => ({ ...toPublicUser(user), activeSessions }));
    if (values.json === true) {
      for (const row of listed) process.stdout.write(`${JSON.stringify(row)}\n`);
      return;
    }
    const table = [
      ["ID", "EMAIL", "USERNAME", "VERIFIED", "CREATED", "SESSIONS"],
      ...listed.map((row) => [row.id, row.email, row.username ?? "-", row.emailVerified ? "yes" : "no", row.createdAt, String(row.activeSessions)]),
    ];
    process.stdout.write(formatTable(table));
  },
};

export const usersRevokeSessionsCommand: Command = {
  name: "users revoke-sessions",
  summary: "end every session of a user, on every running instance",
  help: `usage: servauth users revoke-sessions EMAIL

Ends every session of the user with this email and revokes their refresh tokens. The revocation is published on
the revocation bus (PostgreSQL LISTEN/NOTIFY or Redis), so running instances refuse the user's access tokens at
once, as for a logout.

${EMBEDDED_NOTE}
`,
  async run(args) {
    const email = parseEmailArgument(args);
    const ended = await withServices(async ({ database, sessions, audit }) => {
      const user = await findUserByEmail(database.db, email);
      if (user === undefined) throw new Error(`no user has the email ${email}`);
      const sessionIds = await sessions.revokeAll(user.id);
      for (const sessionId of sessionIds) {
        await audit.record("session.revoked", { userId: user.id, sessionId, payload: { via: "cli" } }, CLI_AUDIT_CONTEXT);
      }
      return sessionIds.length;
    });
    process.stdout.write(`revoked ${ended} session${ended === 1 ? "" : "s"} of ${email}\n`);
  },
};

export const usersUnlockCommand: Command = {
  name: "users unlock",
  summary: "clear a user's failed-login lockout",
  help: `usage: servauth users unlock EMAIL

Clears the failed-login counter of the account with this email (the per-account login limit,
RATE_LIMIT_LOGIN_ACCOUNT) and its wrong second-factor codes (RATE_LIMIT_MFA_ACCOUNT), so its owner can sign in again at once instead of waiting for the window to end. The
counter lives in the shared rate-limit store (PostgreSQL or Redis), so running instances see it cleared at once.
With RATE_LIMIT_STORE=memory the counters live inside the server process and end with it: there is nothing to
clear from here, and the command says so (exit 1).

${EMBEDDED_NOTE}
`,
  async run(args) {
    const email = parseEmailArgument(args);
    await withServices(async ({ config, database, limiter, audit }) => {
      if (config.abuse.store === "memory") {
        throw new Error("the rate-limit store is memory: lockouts live in the server process and a restart clears them");
      }
      const user = await findUserByEmail(database.db, email);
      if (user === undefined) throw new Error(`no user has the email ${email}`);
      await limiter.clear("loginAccount", email);
      await limiter.clear("mfaAccount", user.id);
      await audit.record("account.unlocked", { userId: user.id, payload: { via: "cli" } }, CLI_AUDIT_CONTEXT);
    });
    process.stdout.write(`unlocked ${email}\n`);
  },
};

export const usersSetRolesCommand: Command = {
  name: "users set-roles",
  summary: "replace a user's roles (e.g. make an administrator)",
  help: `usage: servauth users set-roles EMAIL ROLES

Replaces the roles of the user with this email by ROLES, comma-separated (e.g. admin,support); every user also
has the role user, so "user" alone removes every other role. Role names are a-z 0-9 _ - (at most 32). Taking the
admin role from the last administrator who is not banned is refused. Running instances apply the change on the
user's next request (the revocation bus), and it is audited on the user's account.
  servauth users set-roles ann@example.com admin

${EMBEDDED_NOTE}
`,
  async run(args) {
    const { positionals } = parseCommandArgs(args, {}, 2);
    const email = Email.safeParse(positionals[0] ?? "");
    if (!email.success) throw new UsageError(positionals[0] === undefined ? "EMAIL is required" : "EMAIL is not a valid email address");
    if (positionals[1] === undefined) throw new UsageError("ROLES is required (e.g. admin, or user to remove every other role)");
    const roles = parseRoles(positionals[1]);
    const updated = await withServices(async ({ database, admin }) => {
      const user = await findUserByEmail(database.db, email.data);
      if (user === undefined) throw new Error(`no user has the email ${email.data}`);
      return admin.users.setRoles(user.id, roles, CLI_ACTOR);
    });
    process.stdout.write(`${email.data} has roles ${updated.roles.join(",")}\n`);
  },
};

/** The operator acts with shell access, not as an account: no administrator id. */
const CLI_ACTOR = { adminId: null, audit: CLI_AUDIT_CONTEXT };

/** "admin, support" -> ["admin", "support"]; a name outside RoleName is a usage error. */
function parseRoles(value: string): string[] {
  const roles = value.split(",").map((role) => role.trim()).filter(Boolean);
  const bad = roles.find((role) => !RoleName.safeParse(role).success);
  if (bad !== undefined || roles.length === 0) throw new UsageError(`"${bad ?? value}" is not a role name (a-z 0-9 _ -, at most 32)`);
  return roles;
}

/** The single EMAIL positional of the per-user commands. */
function parseEmailArgument(args: string[]): string {
  const { positionals } = parseCommandArgs(args, {}, 1);
  const email = Email.safeParse(positionals[0] ?? "");
  if (!email.success) throw new UsageError(positionals[0] === undefined ? "EMAIL is required" : "EMAIL is not a valid email address");
  return email.data;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) => `${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()}\n`).join("");
}
