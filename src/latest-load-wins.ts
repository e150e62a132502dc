/**
 * A reload for an in-memory copy of database rows that overlapping callers run (a timer, a rotation, an unknown key
 * id): only the most recently started load is applied. Without it, a slow load that began before a change could
 * finish after one that began after it and put the old rows back (a rotated key would stop being current until the
 * next reload). A load that finds a newer one applied already returns without applying: the copy is newer than its.
 */
export function latestLoadWins<T>(load: () => Promise<T>, apply: (loaded: T) => void): () => Promise<void> {
  let started = 0;
  let applied = 0;
  return async () => {
    const ticket = ++started;
    const loaded = await load();
    if (ticket < applied) return;
    applied = ticket;
    apply(loaded);
  };
}
