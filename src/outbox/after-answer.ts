import { AsyncLocalStorage } from "node:async_hooks";

const deferredJobs = new AsyncLocalStorage<Array<() => void>>();

/**
 * Runs `answer` (a request's handling); jobs passed to `afterAnswer` meanwhile start only once it has settled, so
 * none of the work they set off (waking the outbox worker, whose compose lane then looks the address up) interleaves
 * with the request's own: the request's work and time are the same whatever that work turns out to be.
 */
export async function deferringJobsUntilAnswered<T>(answer: () => Promise<T>): Promise<T> {
  const jobs: Array<() => void> = [];
  try {
    return await deferredJobs.run(jobs, answer);
  } finally {
    for (const job of jobs) job();
  }
}

/**
 * Starts `job` once the current request has its answer; outside a request (CLI, background work) or in one the app
 * does not wrap (a GET: src/http/middleware/request-envelope.ts), now.
 */
export function afterAnswer(job: () => void): void {
  const jobs = deferredJobs.getStore();
  if (jobs === undefined) job();
  else jobs.push(job);
}
