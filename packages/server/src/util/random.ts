import { randomBytes } from "node:crypto";

/** The alphabet of PocketBase record ids: lower-case letters and digits. */
export const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Returns `length` characters drawn uniformly from `alphabet` with a CSPRNG (rejection sampling, no modulo bias). */
export function randomString(length: number, alphabet: string = ID_ALPHABET): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    const bytes = randomBytes(Math.max(16, (length - out.length) * 2));
    for (const b of bytes) {
      if (b < limit) {
        out += alphabet[b % alphabet.length];
        if (out.length === length) break;
      }
    }
  }
  return out;
}

/** A new 15-character record id (`[a-z0-9]{15}`), as PocketBase generates them. */
export function newRecordId(): string {
  return randomString(15);
}
