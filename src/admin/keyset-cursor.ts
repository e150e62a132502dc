import { z } from "zod";

/**
 * A position in a list ordered by (created_at, id): the row's created_at as PostgreSQL prints it (microseconds
 * kept: a JavaScript Date would round them away and repeat or skip rows created within one millisecond) and its
 * id, base64url-encoded so clients treat it as opaque. It names a position, not a row: the row may be deleted
 * meanwhile and the next page still starts right after it. Rows inserted later sort after every existing one, so
 * paging ahead neither repeats nor skips a row that was there when paging began.
 */
export type KeysetPosition = { createdAt: string; id: string };

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?([+-])(\d{2})(?::(\d{2}))?$/;
const Position = z.tuple([z.string().regex(TIMESTAMP), z.uuid()]);

/**
 * Whether the timestamp names a real moment PostgreSQL holds: every field in its range (no 2026-02-30, no 99:99),
 * a year from 1970 to 9999 and an offset of at most 15:59 hours. Anything else would reach the database as a
 * data exception (a 500) or be read as another moment.
 */
function isRealMoment(timestamp: string): boolean {
  const [, year, month, day, hour, minute, second, , offsetHours = 0, offsetMinutes = 0] = (TIMESTAMP.exec(timestamp) ?? []).map((field) => (field === undefined ? 0 : Number(field)));
  if (year === undefined || year < 1970 || year > 9999 || offsetHours > 15 || offsetMinutes > 59) return false;
  const date = new Date(Date.UTC(year, Number(month) - 1, day, hour, minute, second));
  // Date.UTC rolls an out-of-range field over into the next one; a real moment comes back unchanged.
  return date.getUTCFullYear() === year && date.getUTCMonth() + 1 === month && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString("base64url");
}

/** The position, or null for anything that is not a cursor this server made. */
export function decodeCursor(cursor: string): KeysetPosition | null {
  try {
    const parsed = Position.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return parsed.success && isRealMoment(parsed.data[0]) ? { createdAt: parsed.data[0], id: parsed.data[1] } : null;
  } catch {
    return null;
  }
}
