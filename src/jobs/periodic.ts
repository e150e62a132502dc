import type { Logger } from "../observability/logger.ts";

/**
 * Runs a maintenance task now (or, with `firstRunAfterInterval`, first after one interval) and then every interval,
 * never two at once, logging failures instead of throwing. The tasks keep their state in the database, so a
 * restart or another instance picks up where this one stopped, and running them on several instances at once is
 * harmless. Returns the function that stops it.
 */
export function startPeriodicJob(
  name: string,
  task: () => Promise<void>,
  intervalSeconds: number,
  logger: Logger,
  { firstRunAfterInterval = false }: { firstRunAfterInterval?: boolean } = {},
): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await task();
    } catch (error) {
      logger.error({ err: error, job: name }, `${name} failed; will retry`);
    } finally {
      running = false;
    }
  };
  if (!firstRunAfterInterval) void run();
  const timer = setInterval(() => void run(), intervalSeconds * 1000);
  timer.unref?.();
  return () => clearInterval(timer);
}
