import { crc32 as zlibCrc32 } from "node:zlib";

/** CRC-32 (IEEE) of a UTF-8 string, as an unsigned decimal number; PocketBase derives default ids from it. */
export function crc32(text: string): number {
  return zlibCrc32(Buffer.from(text, "utf8")) >>> 0;
}
