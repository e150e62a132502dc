import pino from "pino";

export type Logger = pino.Logger;

/**
 * JSON lines on stdout. Anything that could carry a credential is redacted by path as a second line of defence;
 * the first is never logging request bodies or headers at all.
 */
export function createLogger(options: { level: pino.LevelWithSilent; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: {
        paths: ["password", "*.password", "token", "*.token", "refreshToken", "*.refreshToken", "authorization", "cookie"],
        censor: "[redacted]",
      },
    },
    options.destination,
  );
}
