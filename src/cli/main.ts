import { ConfigError } from "../config/env.ts";
import { rotateKeys } from "./keys.ts";
import { migrate } from "./migrate.ts";
import { serve } from "./serve.ts";

const COMMANDS: Record<string, { run: () => Promise<void>; help: string }> = {
  serve: { run: serve, help: "run the HTTP server (applies migrations first)" },
  migrate: { run: migrate, help: "apply pending database migrations and exit" },
  "keys rotate": { run: rotateKeys, help: "add a new current signing key (the old one stays published until its tokens expire)" },
};

const USAGE = `usage: servauth <command>\n\n${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(13)}${command.help}`)
  .join("\n")}\n`;

/** Exit codes: 0 success, 1 failure (bad configuration, unreachable database), 2 usage error. */
async function main(argv: string[]): Promise<void> {
  const name = argv.join(" ");
  if (argv.length === 0 || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    process.exit(argv.length === 0 ? 2 : 0);
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`servauth: unknown command or argument: ${argv.join(" ")}\n${USAGE}`);
    process.exit(2);
  }
  try {
    await command.run();
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : `${name} failed: ${(error as Error).message}`;
    process.stderr.write(`servauth: ${message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
