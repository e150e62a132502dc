import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { renderConfiguration } from "../../scripts/docs/render-configuration.ts";
import { renderErrors } from "../../scripts/docs/render-errors.ts";
import { renderGraphqlSchema } from "../../scripts/docs/render-graphql-schema.ts";
import { inspectSetting } from "../../scripts/docs/zod-introspection.ts";
import { ENV_VARIABLES } from "../../src/config/env.ts";
import { ERROR_CODES } from "../../src/errors.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const REGENERATE = "run `npm run docs:generate` and commit the result";
const read = (file: string) => readFile(path.join(ROOT, file), "utf8");

describe("the reference pages generated from the code", () => {
  test("every setting has a description", () => {
    const undescribed = Object.entries(ENV_VARIABLES)
      .filter(([, schema]) => !inspectSetting(schema).description)
      .map(([name]) => name);
    expect(undescribed, `add a zod .describe("...") to these variables in src/config/env.ts`).toEqual([]);
  });

  test("every error code says when it happens", () => {
    const undescribed = Object.entries(ERROR_CODES)
      .filter(([, entry]) => !("description" in entry) || !entry.description)
      .map(([code]) => code);
    expect(undescribed, "add a description to these ERROR_CODES entries in src/errors.ts").toEqual([]);
  });

  test("docs/configuration.md is what the generator renders", async () => {
    expect(await read("docs/configuration.md"), `docs/configuration.md is out of date: ${REGENERATE}`).toBe(renderConfiguration().markdown);
  });

  test("docs/errors.md is what the generator renders", async () => {
    expect(await read("docs/errors.md"), `docs/errors.md is out of date: ${REGENERATE}`).toBe(renderErrors());
  });

  test("schema.graphql is what the GraphQL schema prints", async () => {
    expect(await read("schema.graphql"), `schema.graphql is out of date: ${REGENERATE}`).toBe(renderGraphqlSchema());
  });

  test("every setting has an area of its own in the configuration reference", () => {
    expect(renderConfiguration().unplaced, "give these variables an area in scripts/docs/render-configuration.ts").toEqual([]);
  });

  test(".env.example names every variable", async () => {
    const example = await read(".env.example");
    const missing = Object.keys(ENV_VARIABLES).filter((name) => !new RegExp(`^(# )?${name}=`, "m").test(example));
    expect(missing, "document these variables in .env.example").toEqual([]);
  });
});
