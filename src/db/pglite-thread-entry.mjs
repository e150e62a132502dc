// The PGlite worker thread's entry. Like bin/servauth.mjs: Bun runs the TypeScript as it is, Node loads it through
// tsx (registered here, in the thread: a loader registered in the server's thread does not reach it).
if (!process.versions.bun) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("./pglite-thread.ts");
