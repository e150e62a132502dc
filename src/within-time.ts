/**
 * The promise's outcome, or a rejection with `onExpiry()` once `ms` have passed without one. The timer is cleared
 * either way, so nothing is left to keep the process alive. The promise itself runs on: this bounds the wait for
 * it, not its work.
 */
export async function withinTime<T>(promise: Promise<T>, ms: number, onExpiry: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onExpiry()), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
