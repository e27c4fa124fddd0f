import { availableParallelism } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { verify as verifyBcrypt } from "@node-rs/bcrypt";
import { Semaphore } from "../util/index.js";

// Algorithm.Argon2id of @node-rs/argon2 (a const enum, which verbatimModuleSyntax cannot import).
const ARGON2ID = 2;

const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const BCRYPT_RE = /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/;
// An argon2id hash with OPTIONS' parameters of a password nobody uses: verifying against it costs what a real
// check costs, from the very first request (computing it lazily would make that one request slower).
const DUMMY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$of6bKfDzGOfTRY+QdCAVJw$DsfvmTO43Xmiz1zd8tegItdNyCvd8eGe6VtjeHHFovA";

const work = { hashes: 0, verifies: 0, dummyVerifies: 0 };

/**
 * How many password hashes run at once: one core fewer than the machine has (at least one), so a flood of
 * sign-in attempts, each worth ~10 ms of CPU and 19 MiB, queues here and leaves a core to the event loop and
 * every other request (issue 10). Known and unknown accounts wait in the same queue.
 */
export const PASSWORD_HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);
const hashing = new Semaphore(PASSWORD_HASH_CONCURRENCY);

/**
 * How many argon2id hashes and verifications this process has run (`dummyVerifies`: against the throwaway
 * hash). The auth routes must spend the same for known and unknown accounts (issue 10); tests compare these.
 */
export function passwordWork(): Readonly<typeof work> {
  return { ...work };
}

/** Hashes a password with argon2id (OWASP's recommended parameters). Runs off the event loop. */
export function hashPassword(password: string): Promise<string> {
  work.hashes++;
  return hashing.run(() => hash(password, OPTIONS));
}

/** True for a bcrypt hash (`$2a$`, `$2b$`, `$2y$`), the kind a PocketBase export holds. */
export function isBcryptHash(stored: string): boolean {
  return BCRYPT_RE.test(stored);
}

/**
 * True when the password matches the stored hash: argon2id, or bcrypt as imported from PocketBase (which
 * `needsRehash` then reports, so the next sign-in upgrades it). An empty or unknown hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (typeof stored !== "string" || typeof password !== "string") return false;
  try {
    if (stored.startsWith("$argon2")) {
      work.verifies++;
      return await hashing.run(() => verify(stored, password));
    }
    // bcrypt reads at most 72 bytes; PocketBase refuses longer passwords, so do we.
    if (isBcryptHash(stored))
      return Buffer.byteLength(password) <= 72 && (await hashing.run(() => verifyBcrypt(password, stored)));
  } catch {
    return false;
  }
  return false;
}

/** True when a stored hash is not argon2id and should be replaced after a successful sign-in. */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith("$argon2id$");
}

/**
 * Spends the same time as a real verification against a throwaway hash, so a sign-in for an unknown account
 * takes as long as one with a wrong password (no account enumeration by timing).
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  work.dummyVerifies++;
  await verifyPassword(typeof password === "string" ? password : "", DUMMY_HASH);
}

/** True when a stored value is a hash `verifyPassword` can check (argon2 or an imported bcrypt hash). */
export function isCheckableHash(stored: unknown): boolean {
  return typeof stored === "string" && (stored.startsWith("$argon2") || isBcryptHash(stored));
}
