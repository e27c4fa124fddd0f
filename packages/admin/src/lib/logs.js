/** Names of the log levels PocketBase and Basalt store (slog's numbering). */
export const LEVELS = [
  [-4, "debug"],
  [0, "info"],
  [4, "warn"],
  [8, "error"],
];

/** The name of a level: the nearest named level at or below it. */
export function levelName(level) {
  let name = "debug";
  for (const [n, label] of LEVELS) if (level >= n) name = label;
  return name;
}

const HOUR = 3_600_000;

function hourOf(date) {
  return Date.parse(`${String(date).slice(0, 13).replace(" ", "T")}:00:00Z`);
}

/**
 * Turns `/api/logs/stats` rows (hours with entries only) into one bucket per hour up to the current one:
 * at least the last 24 hours, back to the first hour with entries, at most `maxHours` (the newest), so quiet
 * hours show as empty bars.
 */
export function hourlyBuckets(rows, now = Date.now(), maxHours = 24 * 7) {
  const counts = new Map(rows.map((r) => [hourOf(r.date), Number(r.total) || 0]));
  const last = Math.max(Math.floor(now / HOUR) * HOUR, ...counts.keys());
  const first = Math.max(Math.min(last - 23 * HOUR, ...counts.keys()), last - (maxHours - 1) * HOUR);
  const out = [];
  for (let t = first; t <= last; t += HOUR) out.push({ hour: t, total: counts.get(t) ?? 0 });
  return out;
}

/** An hour as "2026-12-03 07:00" (UTC). */
export function hourLabel(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** Joins filter expressions with `&&`, each in parentheses; empty ones are left out. */
export function andFilters(...parts) {
  const list = parts.map((p) => (p ?? "").trim()).filter(Boolean);
  return list.length <= 1 ? (list[0] ?? "") : list.map((p) => `(${p})`).join(" && ");
}
