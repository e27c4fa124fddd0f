import type { TransferSummary } from "../core/transfer/index.js";

/** One line describing what a transfer moved: collections, records (per collection) and settings rows. */
export function describeSummary(s: TransferSummary): string {
  const entries = Object.entries(s.records);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const per = entries
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  return `${n(s.collections, "collection")}, ${n(total, "record")}${per ? ` (${per})` : ""} and ${n(s.params, "settings row")}`;
}

/** A database URL without its password, for printing. */
export function redactDbUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}
