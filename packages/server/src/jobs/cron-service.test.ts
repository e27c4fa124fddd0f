import { describe, expect, it } from "vitest";
import { parseCron } from "./cron-service.js";

describe("parseCron", () => {
  it("reads five-field expressions and macros in UTC", () => {
    const from = new Date("2026-03-04T10:30:15Z");
    expect(parseCron("@hourly").nextRun(from)?.toISOString()).toBe("2026-03-04T11:00:00.000Z");
    expect(parseCron("@daily").nextRun(from)?.toISOString()).toBe("2026-03-05T00:00:00.000Z");
    expect(parseCron("*/5 * * * *").nextRun(from)?.toISOString()).toBe("2026-03-04T10:35:00.000Z");
    expect(parseCron("0 3 * * 1").nextRun(from)?.toISOString()).toBe("2026-03-09T03:00:00.000Z");
  });

  it("refuses seconds fields and nonsense", () => {
    expect(() => parseCron("0 * * * * *")).toThrow();
    expect(() => parseCron("61 * * * *")).toThrow();
    expect(() => parseCron("every minute")).toThrow();
    expect(() => parseCron("")).toThrow();
  });
});
