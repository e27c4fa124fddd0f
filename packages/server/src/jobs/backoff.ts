/** How retries are spaced: exponential growth from `baseMs`, capped at `maxMs`. */
export interface BackoffOptions {
  /** The delay before the first retry, before jitter (default 1 s). */
  baseMs?: number;
  /** The longest delay (default 1 h). */
  maxMs?: number;
}

/**
 * The delay before retry number `attempt` (1 after the first failure): `base · 2^(attempt-1)` capped at
 * `max`, with "equal jitter" (a random point in its upper half), so workers that failed together do not
 * retry together and the delay still grows.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const base = Math.max(0, options.baseMs ?? 1000);
  const max = Math.max(base, options.maxMs ?? 3_600_000);
  const exp = Math.min(max, base * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(exp / 2 + random() * (exp / 2));
}
