import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

/** Persisted operations: sha256 (hex) of the document -> the document. */
export type PersistedOperations = ReadonlyMap<string, string>;

/**
 * GRAPHQL_PERSISTED_OPERATIONS_FILE: a JSON object of hash -> document, as clients' build tools emit them
 * (graphql-codegen's persisted documents, Apollo's persisted query manifests flattened to hash -> body). Each hash
 * is checked against its document, so a file that names a document by a wrong hash stops the start-up rather
 * than silently serving another operation than the client asked for.
 */
export async function loadPersistedOperations(file: string | null): Promise<PersistedOperations> {
  if (file === null) return new Map();
  const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: must be a JSON object of sha256 hash -> GraphQL document`);
  const operations = new Map<string, string>();
  for (const [hash, document] of Object.entries(parsed)) {
    if (typeof document !== "string") throw new Error(`${file}: the operation ${hash} is not a string`);
    const actual = createHash("sha256").update(document).digest("hex");
    if (actual !== hash.toLowerCase()) throw new Error(`${file}: the operation listed as ${hash} hashes to ${actual}`);
    operations.set(actual, document);
  }
  return operations;
}
