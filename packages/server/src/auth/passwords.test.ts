import { hash as bcryptHash } from "@node-rs/bcrypt";
import { describe, expect, it } from "vitest";
import { hashPassword, isBcryptHash, needsRehash, verifyPassword } from "./passwords.js";

describe("passwords", () => {
  it("hash with argon2id and verify", async () => {
    const h = await hashPassword("correct horse");
    expect(h.startsWith("$argon2id$")).toBe(true);
    expect(needsRehash(h)).toBe(false);
    expect(await verifyPassword("correct horse", h)).toBe(true);
    expect(await verifyPassword("wrong", h)).toBe(false);
  });

  it("verify PocketBase's bcrypt hashes and mark them for rehashing", async () => {
    const h = await bcryptHash("from-pocketbase", { cost: 4 });
    expect(isBcryptHash(h)).toBe(true);
    expect(needsRehash(h)).toBe(true);
    expect(await verifyPassword("from-pocketbase", h)).toBe(true);
    expect(await verifyPassword("from-pocketbasf", h)).toBe(false);
  });

  it("never match an empty, unknown or malformed hash", async () => {
    for (const stored of ["", "plain", "$2b$10$short", "$argon2id$garbage", "$1$md5$x"]) {
      expect(await verifyPassword("x", stored)).toBe(false);
    }
  });
});
