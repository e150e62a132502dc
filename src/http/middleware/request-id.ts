import { randomUUID } from "node:crypto";

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is well-formed (so traces join up), a fresh one otherwise. */
export function requestIdFor(offered: string | undefined): string {
  return offered !== undefined && WELL_FORMED.test(offered) ? offered : randomUUID();
}
