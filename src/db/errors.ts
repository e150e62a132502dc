/** The unique-constraint name of a PostgreSQL unique violation (23505), through drizzle's error wrapper; else null. */
export function uniqueViolationConstraint(error: unknown): string | null {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const fields = current as Error & { code?: unknown; constraint?: unknown; constraint_name?: unknown };
    if (fields.code === "23505") {
      const name = fields.constraint_name ?? fields.constraint;
      return typeof name === "string" ? name : "";
    }
  }
  return null;
}
