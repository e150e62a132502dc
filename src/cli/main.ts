import { ConfigError } from "../config/env.ts";
import { AppError } from "../errors.ts";
import { type Command, UsageError } from "./command.ts";
import { configCheckCommand } from "./config-check.ts";
import { keysRotateCommand } from "./keys.ts";
import { migrateCommand } from "./migrate.ts";
import { serveCommand } from "./serve.ts";
import { usersCreateCommand, usersListCommand, usersRevokeSessionsCommand, usersSetRolesCommand, usersUnlockCommand } from "./users.ts";

const COMMANDS: Command[] = [
  serveCommand,
  migrateCommand,
  keysRotateCommand,
  usersCreateCommand,
  usersListCommand,
  usersRevokeSessionsCommand,
  usersUnlockCommand,
  usersSetRolesCommand,
  configCheckCommand,
];

function usage(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join("\n");
  return `usage: servauth <command> [options]\n\n${lines}\n\n"servauth <command> --help" describes a command.\n`;
}

const wantsHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

/** Exit codes: 0 success, 1 failure (bad configuration, unreachable database, ...), 2 usage error. */
async function main(argv: string[]): Promise<void> {
  const command = COMMANDS.find((candidate) => candidate.name.split(" ").every((word, index) => argv[index] === word));
  if (command === undefined) {
    // "servauth users" and "servauth users --help" list that group's commands.
    const group = COMMANDS.filter((candidate) => argv[0] !== undefined && candidate.name.startsWith(`${argv[0]} `));
    const listed = group.length > 0 ? group : COMMANDS;
    const rest = group.length > 0 ? argv.slice(1) : argv;
    if (rest.length > 0 && rest.every((arg) => arg === "--help" || arg === "-h")) return void process.stdout.write(usage(listed));
    if (rest.length > 0) process.stderr.write(`servauth: unknown command or argument: ${argv.join(" ")}\n`);
    process.stderr.write(usage(listed));
    process.exit(2);
  }
  const args = argv.slice(command.name.split(" ").length);
  if (wantsHelp(args)) return void process.stdout.write(command.help);
  try {
    await command.run(args);
  } catch (error) {
    const [message, code] = describeFailure(command, error);
    // One line: a message from a driver or library may carry line breaks; a stack trace never belongs here.
    process.stderr.write(`${message.replace(/\s*\n\s*/g, " ")}\n`);
    process.exit(code);
  }
}

function describeFailure(command: Command, error: unknown): [string, number] {
  if (error instanceof UsageError) return [`servauth ${command.name}: ${error.message} (see servauth ${command.name} --help)`, 2];
  if (error instanceof ConfigError) return [`servauth: ${error.message}`, 1];
  // Input the services refused (e.g. a password the policy rejects) is a usage error too, field by field.
  if (error instanceof AppError && error.code === "VALIDATION_FAILED") {
    const fields = error.errors?.map((field) => `${field.path}: ${field.message}`).join("; ");
    return [`servauth ${command.name}: ${fields ?? error.message}`, 2];
  }
  return [`servauth ${command.name}: ${error instanceof Error ? error.message : String(error)}`, 1];
}

await main(process.argv.slice(2));
