import { randomString } from "../util/index.js";

const TOKEN_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A new random token key (50 characters); changing it revokes every token of the record. */
export function newTokenKey(): string {
  return randomString(50, TOKEN_KEY_ALPHABET);
}
