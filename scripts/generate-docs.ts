/**
 * `npm run docs:generate`: renders the reference pages that come from the code (docs/configuration.md from
 * src/config/env.ts and src/abuse/rules.ts, docs/errors.md from src/errors.ts, schema.graphql from src/graphql/). tests/unit/generated-docs.test.ts
 * fails when the committed pages differ from what this renders.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderConfiguration } from "./docs/render-configuration.ts";
import { renderErrors } from "./docs/render-errors.ts";
import { renderGraphqlSchema } from "./docs/render-graphql-schema.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const configuration = renderConfiguration();
if (configuration.unplaced.length > 0) {
  console.warn(`generate-docs: ${configuration.unplaced.join(", ")} fell under "Other settings": give them an area in scripts/docs/render-configuration.ts`);
}
await writeFile(path.join(root, "docs/configuration.md"), configuration.markdown);
await writeFile(path.join(root, "docs/errors.md"), renderErrors());
await writeFile(path.join(root, "schema.graphql"), renderGraphqlSchema());
console.log("generate-docs: wrote docs/configuration.md, docs/errors.md and schema.graphql");
