import pino from "pino";
import { prettyFactory } from "pino-pretty";

export type Logger = pino.Logger;

export type LoggerOptions = {
  level: pino.LevelWithSilent;
  /** Where lines go; stdout when unset. */
  destination?: pino.DestinationStream;
  /** Human-readable colored lines instead of JSON: for a developer's terminal only, never for log shippers. */
  pretty?: boolean;
};

/**
 * JSON lines on stdout. Anything that could carry a credential is redacted by path as a second line of defence;
 * the first is never logging request bodies or headers at all.
 */
export function createLogger(options: LoggerOptions): Logger {
  // Unset, pino picks stdout itself (fd 1 through sonic-boom, flushed on exit).
  const destination = options.pretty ? prettyLines(options.destination ?? process.stdout) : options.destination;
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: {
        paths: [
          "password",
          "*.password",
          "token",
          "*.token",
          "refreshToken",
          "*.refreshToken",
          "clientSecret",
          "*.clientSecret",
          "client_secret",
          "*.client_secret",
          "authorization",
          "cookie",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/**
 * Each JSON line rewritten for humans, in this thread: pino's worker-thread transport is not needed for a terminal,
 * and this way works the same on Bun and Node.
 */
function prettyLines(destination: pino.DestinationStream): pino.DestinationStream {
  const prettify = prettyFactory({ colorize: true });
  return { write: (line: string) => destination.write(prettify(line)) };
}
