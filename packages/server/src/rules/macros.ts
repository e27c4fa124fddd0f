import { formatDateTime } from "../util/index.js";

/** The `@` date macros and the static type of each value (all UTC, as PocketBase's identifier_macros.go). */
export const DATE_MACROS: Readonly<
  Record<string, { type: "text" | "number"; value: (now: Date) => string | number }>
> = {
  "@now": { type: "text", value: (now) => formatDateTime(now) },
  "@yesterday": { type: "text", value: (now) => formatDateTime(new Date(now.getTime() - 86_400_000)) },
  "@tomorrow": { type: "text", value: (now) => formatDateTime(new Date(now.getTime() + 86_400_000)) },
  "@second": { type: "number", value: (now) => now.getUTCSeconds() },
  "@minute": { type: "number", value: (now) => now.getUTCMinutes() },
  "@hour": { type: "number", value: (now) => now.getUTCHours() },
  "@day": { type: "number", value: (now) => now.getUTCDate() },
  "@month": { type: "number", value: (now) => now.getUTCMonth() + 1 },
  "@weekday": { type: "number", value: (now) => now.getUTCDay() },
  "@year": { type: "number", value: (now) => now.getUTCFullYear() },
  "@todayStart": {
    type: "text",
    value: (now) =>
      formatDateTime(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))),
  },
  "@todayEnd": {
    type: "text",
    value: (now) =>
      formatDateTime(
        new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 23, 59, 59, 999)),
      ),
  },
  "@monthStart": {
    type: "text",
    value: (now) => formatDateTime(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))),
  },
  "@monthEnd": {
    type: "text",
    value: (now) =>
      formatDateTime(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0, 23, 59, 59, 999))),
  },
  "@yearStart": {
    type: "text",
    value: (now) => formatDateTime(new Date(Date.UTC(now.getUTCFullYear(), 0, 1))),
  },
  "@yearEnd": {
    type: "text",
    value: (now) => formatDateTime(new Date(Date.UTC(now.getUTCFullYear(), 11, 31, 23, 59, 59, 999))),
  },
};
