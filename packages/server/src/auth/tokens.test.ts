import { describe, expect, it } from "vitest";
import { decodeToken, signToken, verifyToken } from "./tokens.js";

const claims = {
  id: "abc",
  type: "auth" as const,
  collectionId: "c1",
  exp: Math.floor(Date.now() / 1000) + 60,
};

describe("tokens", () => {
  it("round-trips with the right key only", () => {
    const t = signToken(claims, "key-1");
    expect(verifyToken(t, "key-1")).toMatchObject(claims);
    expect(verifyToken(t, "key-2")).toBeNull();
  });
  it("rejects expired, tampered and non-HS256 tokens", () => {
    expect(verifyToken(signToken({ ...claims, exp: 1 }, "k"), "k")).toBeNull();
    const t = signToken(claims, "k");
    const [h, p, s] = t.split(".");
    const tampered = Buffer.from(JSON.stringify({ ...claims, id: "other" })).toString("base64url");
    expect(verifyToken(`${h}.${tampered}.${s}`, "k")).toBeNull();
    const none = Buffer.from('{"alg":"none"}').toString("base64url");
    expect(decodeToken(`${none}.${p}.`)).toBeNull();
    expect(decodeToken("x".repeat(5000))).toBeNull();
  });
});
