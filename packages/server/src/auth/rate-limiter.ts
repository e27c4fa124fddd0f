import { MemoryRateLimitStore, type RateLimitStore } from "./rate-limit-store.js";

/** At most `max` events per `seconds`-long window. */
export interface LimitRule {
  max: number;
  seconds: number;
}

/** The limits on the auth routes, per client IP and per identity (e-mail, username, record). */
export interface AuthRateLimits {
  /** Sign-in attempts (password, OTP, OAuth2) per client IP. */
  signInPerIp: LimitRule;
  /** Failed password sign-ins per collection + identity. */
  signInFailuresPerIdentity: LimitRule;
  /** OTP requests per client IP. */
  otpRequestPerIp: LimitRule;
  /** OTP requests per collection + e-mail. */
  otpRequestPerEmail: LimitRule;
  /** Code attempts per auth record (PocketBase: 5 per 180 s; codes are short digit strings). */
  otpAttemptsPerRecord: LimitRule;
  /** Verification, password-reset and e-mail-change requests per client IP. */
  emailRequestPerIp: LimitRule;
  /** Verification and password-reset requests per collection + e-mail. */
  emailRequestPerEmail: LimitRule;
  /** Confirm routes (verification, reset, e-mail change) per client IP. */
  confirmPerIp: LimitRule;
  /** Verification and reset e-mails actually sent per record (more requests answer 204 and send nothing). */
  emailResend: LimitRule;
  /**
   * Filtered list requests with no result per collection + client IP before answers are delayed at random
   * (PocketBase's guard against timing the list rule through client filters: 3 per 3 s).
   */
  emptySearchPerIp: LimitRule;
}

/** The limits Basalt ships with: generous for people, tight for scripts. */
export function defaultAuthRateLimits(): AuthRateLimits {
  return {
    signInPerIp: { max: 60, seconds: 60 },
    signInFailuresPerIdentity: { max: 10, seconds: 300 },
    otpRequestPerIp: { max: 20, seconds: 60 },
    otpRequestPerEmail: { max: 5, seconds: 300 },
    otpAttemptsPerRecord: { max: 5, seconds: 180 },
    emailRequestPerIp: { max: 20, seconds: 60 },
    emailRequestPerEmail: { max: 3, seconds: 600 },
    confirmPerIp: { max: 30, seconds: 60 },
    emailResend: { max: 1, seconds: 120 },
    emptySearchPerIp: { max: 3, seconds: 3 },
  };
}

/**
 * Fixed-window rate limits over a RateLimitStore. `consume` counts an attempt and answers how many seconds
 * the caller must wait (0 = allowed); `blocked` only looks, for limits counted on failure.
 */
export class RateLimiter {
  private rules: AuthRateLimits = defaultAuthRateLimits();

  constructor(private readonly store: RateLimitStore = new MemoryRateLimitStore()) {}

  /** The current auth limits (a copy). */
  get limits(): AuthRateLimits {
    return structuredClone(this.rules);
  }

  /** Replaces some of the auth limits (configuration, tests). */
  configure(limits: Partial<AuthRateLimits>): void {
    this.rules = { ...this.rules, ...limits };
  }

  private rule(name: keyof AuthRateLimits): LimitRule {
    return this.rules[name];
  }

  /** Counts an attempt for a key under a named rule; returns the seconds to wait, 0 when allowed. */
  async consume(name: keyof AuthRateLimits, key: string): Promise<number> {
    const rule = this.rule(name);
    const w = await this.store.hit(`${name}:${key}`, rule.seconds * 1000);
    return w.count > rule.max ? retryAfter(w.resetAt) : 0;
  }

  /** The seconds to wait when a key is already over a named rule's limit, 0 otherwise; counts nothing. */
  async blocked(name: keyof AuthRateLimits, key: string): Promise<number> {
    const w = await this.store.peek(`${name}:${key}`);
    return w && w.count >= this.rule(name).max ? retryAfter(w.resetAt) : 0;
  }

  /** Forgets a key under a named rule (a success clears earlier failures). */
  reset(name: keyof AuthRateLimits, key: string): Promise<void> {
    return this.store.reset(`${name}:${key}`);
  }
}

function retryAfter(resetAt: number): number {
  return Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
}
