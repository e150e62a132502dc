import { parseArgs, type ParseArgsConfig } from "node:util";

/** One CLI command, e.g. "users create". */
export type Command = {
  /** The words that select it: "serve", "users create". */
  name: string;
  /** One line for the overall usage. */
  summary: string;
  /** The whole `--help` text. */
  help: string;
  run(args: string[]): Promise<void>;
};

/** The command line itself is wrong (unknown option, missing or bad argument): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs in strict mode, its complaints turned into usage errors. */
export function parseCommandArgs<const T extends Options>(args: string[], options: T, positionals = 0) {
  const parse = () => {
    try {
      return parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
    } catch (error) {
      // Node's messages run on with advice about '--'; the first sentence is the useful part.
      throw new UsageError((error as Error).message.split(". ")[0] ?? "invalid arguments");
    }
  };
  const parsed = parse();
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument: ${parsed.positionals.slice(positionals).join(" ")}`);
  }
  return parsed;
}
