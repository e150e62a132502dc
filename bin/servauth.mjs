#!/usr/bin/env node
// The `servauth` command. Bun runs the TypeScript sources as they are; Node loads them through tsx.
if (!process.versions.bun) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("../src/cli/main.ts");
