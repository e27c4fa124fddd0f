import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "./codes.js";

describe("error code registry", () => {
  it("matches docs/errors.md row for row", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../../../docs/errors.md", import.meta.url)), "utf8");
    const rows = [...doc.matchAll(/^\| `(BASALT_ERR_\w+)` \| (\d+) \| (.+) \|$/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3],
    ]);
    const registry = Object.entries(ERROR_CODES).map(([code, e]) => [code, e.status, e.message]);
    expect(rows).toEqual(registry);
  });
});
