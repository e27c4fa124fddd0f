import { MemoryRateLimitStore, type RateLimitStore } from "./rate-limit-store.js";

/** At most `maxRequests` requests per `duration` seconds (PocketBase's rule shape, minus label and audience). */
export interface LimitRule {
  readonly maxRequests: number;
  readonly duration: number;
}

/**
 * The guards PocketBase applies whatever the settings say; every other limit is a rate-limit rule in the
 * settings (`rateLimits`), off by default.
 */
export const FIXED_GUARDS = {
  /** Code attempts per auth record and client IP (PocketBase: 5 per 180 s; codes are short digit strings). */
  otpAttempts: { maxRequests: 5, duration: 180 },
  /**
   * Filtered list requests with no result per collection and client IP before answers are delayed at random
   * (PocketBase's guard against timing the list rule through client filters: 3 per 3 s).
   */
  emptySearch: { maxRequests: 3, duration: 3 },
  /** Verification and password-reset e-mails sent per record (more requests answer 204 and send nothing). */
  emailResend: { maxRequests: 1, duration: 120 },
} as const satisfies Record<string, LimitRule>;

/** The name of one of PocketBase's fixed guards. */
export type FixedGuard = keyof typeof FIXED_GUARDS;

/**
 * Fixed-window counters over a RateLimitStore (process memory, or Redis shared by every instance): one window
 * per key, opened by its first request and `duration` seconds long, as PocketBase's limiter counts.
 */
export class RateLimiter {
  constructor(private readonly store: RateLimitStore = new MemoryRateLimitStore()) {}

  /**
   * Counts a request for a key under a rule; returns the seconds to wait, 0 when the request is allowed.
   * The window length is part of the counter's key, so a changed rule starts fresh windows.
   */
  async hit(key: string, rule: LimitRule): Promise<number> {
    const w = await this.store.hit(`${key}|${rule.duration}`, rule.duration * 1000);
    return w.count > rule.maxRequests ? retryAfter(w.resetAt) : 0;
  }

  /** Counts a request under one of the fixed guards; returns the seconds to wait, 0 when allowed. */
  consume(guard: FixedGuard, key: string): Promise<number> {
    return this.hit(`@${guard}:${key}`, FIXED_GUARDS[guard]);
  }

  /** The seconds to wait when a key is already over a fixed guard, 0 otherwise; counts nothing. */
  async blocked(guard: FixedGuard, key: string): Promise<number> {
    const rule = FIXED_GUARDS[guard];
    const w = await this.store.peek(`@${guard}:${key}|${rule.duration}`);
    return w && w.count >= rule.maxRequests ? retryAfter(w.resetAt) : 0;
  }

  /** Forgets a key under a fixed guard (a confirmed reset may ask for a new e-mail at once). */
  reset(guard: FixedGuard, key: string): Promise<void> {
    return this.store.reset(`@${guard}:${key}|${FIXED_GUARDS[guard].duration}`);
  }
}

function retryAfter(resetAt: number): number {
  return Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
}
