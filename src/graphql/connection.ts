import type { ObjectRef } from "@pothos/core";
import type { GraphqlBuilder, BuilderTypes } from "./builder.ts";

/** A page of a list; `endCursor` is passed back as `after` for the next one (null on the last page). */
export type Page<T> = { nodes: T[]; endCursor: string | null };

/**
 * A Relay-style connection (first/after, pageInfo.hasNextPage/endCursor). Pages are keyset-paged by the services,
 * which hand out one cursor per page, so a connection lists `nodes` rather than edges with a cursor each.
 */
export function addConnection<T>(builder: GraphqlBuilder, name: string, node: ObjectRef<BuilderTypes, T>) {
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      nodes: t.field({ type: [node], resolve: (page) => page.nodes }),
      pageInfo: t.field({ type: pageInfo(builder), resolve: (page) => page }),
    }),
  });
}

const pageInfoRefs = new WeakMap<GraphqlBuilder, ObjectRef<BuilderTypes, Page<unknown>>>();

/** PageInfo, made once per builder. */
function pageInfo(builder: GraphqlBuilder) {
  const existing = pageInfoRefs.get(builder);
  if (existing !== undefined) return existing;
  const ref = builder.objectRef<Page<unknown>>("PageInfo").implement({
    fields: (t) => ({
      hasNextPage: t.boolean({ resolve: (page) => page.endCursor !== null }),
      endCursor: t.string({ nullable: true, description: "Pass as `after` for the next page; null on the last page", resolve: (page) => page.endCursor }),
    }),
  });
  pageInfoRefs.set(builder, ref);
  return ref;
}
