import type { z } from "zod";
import { AppError } from "../errors.ts";
import { validationError } from "../http/on-error.ts";
import type { Authentication } from "../http/app-env.ts";
import type { GraphqlContext } from "./context.ts";

/**
 * Arguments checked by the same schemas as the REST route's body or query, so a bad value is refused alike:
 * VALIDATION_FAILED with `extensions.errors` naming each bad argument.
 */
export function validArgs<S extends z.ZodType>(schema: S, args: unknown): z.infer<S> {
  const result = schema.safeParse(args);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** The session of a field its scopes already required; UNAUTHENTICATED if a field forgot to require one. */
export function sessionOf(context: GraphqlContext): Authentication {
  if (context.auth === null) throw new AppError("UNAUTHENTICATED");
  return context.auth;
}
