import { expect, it } from "vitest";
import { randomString } from "./random.js";

it("draws from any alphabet size, including ones wider than a byte can index", () => {
  const wide = Array.from({ length: 300 }, (_, i) => String.fromCharCode(0x100 + i)).join("");
  for (const alphabet of ["ab", "abcdefghijklmnopqrstuvwxyz0123456789", wide.slice(0, 256), wide]) {
    const s = randomString(400, alphabet);
    expect(s).toHaveLength(400);
    for (const ch of s) expect(alphabet).toContain(ch);
  }
  // the characters past the 256th are reachable too
  expect([...randomString(3000, wide)].some((ch) => wide.indexOf(ch) >= 256)).toBe(true);
  expect(() => randomString(5, "")).toThrow(RangeError);
});
