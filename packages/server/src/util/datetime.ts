/** Formats a date the way PocketBase sends datetimes: UTC, `2006-01-02 15:04:05.000Z` (a space, not `T`). */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace("T", " ");
}

/** The current time in PocketBase's datetime format. */
export function nowDateTime(): string {
  return formatDateTime(new Date());
}

const DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses the date forms PocketBase accepts (`2006-01-02`, `2006-01-02 15:04:05.000Z`, RFC 3339 with `T` and
 * an offset) into a Date; returns null for anything else, including impossible dates like `2024-02-30`.
 */
export function parseDateTime(input: string): Date | null {
  const m = DATE_RE.exec(input.trim());
  if (!m) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "0", tz = "Z"] = m;
  const ms = Math.round(Number(`0.${frac}`) * 1000);
  let offsetMin = 0;
  if (tz.toUpperCase() !== "Z") {
    const sign = tz[0] === "-" ? -1 : 1;
    const digits = tz.slice(1).replace(":", "");
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d)
  ) {
    return null;
  }
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  return new Date(utc - offsetMin * 60_000);
}
