import { describe, expect, it } from "vitest";
import { latestLoadWins } from "../../src/latest-load-wins.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Overlapping reloads of the key stores: on a PostgreSQL pool a timer's load, begun before a rotation, can finish after the rotation's own. */
describe("latestLoadWins", () => {
  it("a load that began earlier but finishes later does not overwrite what a later load applied", async () => {
    const loads = [deferred<string>(), deferred<string>()];
    let call = 0;
    const applied: string[] = [];
    const reload = latestLoadWins(() => (loads[call++] as (typeof loads)[number]).promise, (value) => void applied.push(value));
    const early = reload();
    const late = reload();
    loads[1]?.resolve("after the rotation");
    await late;
    loads[0]?.resolve("before the rotation");
    await early;
    expect(applied).toEqual(["after the rotation"]);
  });

  it("loads that do not overlap are all applied, in order", async () => {
    let version = 0;
    const applied: number[] = [];
    const reload = latestLoadWins(async () => ++version, (value) => void applied.push(value));
    await reload();
    await reload();
    expect(applied).toEqual([1, 2]);
  });

  it("a failed load applies nothing and rejects to its caller", async () => {
    const applied: string[] = [];
    const reload = latestLoadWins(() => Promise.reject(new Error("database down")), (value: string) => void applied.push(value));
    await expect(reload()).rejects.toThrow("database down");
    expect(applied).toEqual([]);
  });
});
