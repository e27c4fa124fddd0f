import { describe, expect, it } from "vitest";
import { formatDateTime, parseDateTime } from "./datetime.js";

describe("datetimes", () => {
  it("formats like PocketBase, with a space", () => {
    expect(formatDateTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)))).toBe("2024-01-02 03:04:05.006Z");
  });
  it("parses PocketBase, RFC 3339 and date-only forms", () => {
    expect(parseDateTime("2024-01-02 03:04:05.006Z")?.toISOString()).toBe("2024-01-02T03:04:05.006Z");
    expect(parseDateTime("2024-01-02T05:04:05+02:00")?.toISOString()).toBe("2024-01-02T03:04:05.000Z");
    expect(parseDateTime("2024-01-02")?.toISOString()).toBe("2024-01-02T00:00:00.000Z");
  });
  it("refuses impossible and malformed dates", () => {
    for (const s of ["2024-02-30", "2024-13-01", "2024-01-01 25:00:00", "yesterday", "", "2024-1-1"]) {
      expect(parseDateTime(s), s).toBeNull();
    }
  });
});
