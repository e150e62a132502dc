import { ConfigError } from "../config/env.ts";
import { migrate } from "./migrate.ts";
import { serve } from "./serve.ts";

const COMMANDS: Record<string, { run: () => Promise<void>; help: string }> = {
  serve: { run: serve, help: "run the HTTP server (applies migrations first)" },
  migrate: { run: migrate, help: "apply pending database migrations and exit" },
};

const USAGE = `usage: servauth <command>\n\n${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(10)}${command.help}`)
  .join("\n")}\n`;

/** Exit codes: 0 success, 1 failure (bad configuration, unreachable database), 2 usage error. */
async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    process.exit(name === undefined ? 2 : 0);
  }
  const command = COMMANDS[name];
  if (command === undefined || rest.length > 0) {
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
