import { hash, verify } from "@node-rs/argon2";

// Algorithm.Argon2id of @node-rs/argon2 (a const enum, which verbatimModuleSyntax cannot import).
const ARGON2ID = 2;

const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
let dummyHash: Promise<string> | undefined;

/** Hashes a password with argon2id (OWASP's recommended parameters). Runs off the event loop. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** True when the password matches the stored hash. An empty or unknown hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!stored?.startsWith("$argon2")) return false;
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * Spends the same time as a real verification against a throwaway hash, so a sign-in for an unknown account
 * takes as long as one with a wrong password (no account enumeration by timing).
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword("basalt-dummy-password-for-timing");
  await verifyPassword(password, await dummyHash);
}
