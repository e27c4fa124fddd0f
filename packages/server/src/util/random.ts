import { randomFillSync, randomInt } from "node:crypto";

/** The alphabet of PocketBase record ids: lower-case letters and digits. */
export const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Returns `length` characters drawn uniformly from `alphabet` with a CSPRNG (rejection sampling, no modulo bias). */
export function randomString(length: number, alphabet: string = ID_ALPHABET): string {
  if (alphabet.length === 0) throw new RangeError("randomString needs a non-empty alphabet");
  let out = "";
  // one byte cannot pick among more than 256 characters (the rejection bound below would be 0: no byte
  // would ever be accepted); wider alphabets draw each character with randomInt
  if (alphabet.length > 256) {
    while (out.length < length) out += alphabet[randomInt(alphabet.length)];
    return out;
  }
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    const b = randomByte();
    if (b < limit) out += alphabet[b % alphabet.length];
  }
  return out;
}

/**
 * Random bytes are drawn from a pool filled 4 KiB at a time (issue 19: a `randomBytes` call per id was a
 * visible part of a create). Each byte is used once, then the pool is refilled.
 */
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

function randomByte(): number {
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  return pool[poolUsed++];
}

/** A new 15-character record id (`[a-z0-9]{15}`), as PocketBase generates them. */
export function newRecordId(): string {
  return randomString(15);
}
