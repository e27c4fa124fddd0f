import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** How long the installer link printed at start-up stays valid, as in PocketBase (30 minutes). */
export const INSTALLER_TTL_MS = 30 * 60_000;

/**
 * The one-time installer of the first superuser (PocketBase's `/_/#/pbinstal/TOKEN`): when a server starts
 * with no superuser, it prints a dashboard link carrying a random token; the page posts it back with the
 * new superuser's e-mail and password. The token lives only in this process's memory (never in the
 * database or the logs), is compared in constant time, expires, and is spent by the first success.
 */
export class InstallerService {
  private digest: Buffer | null = null;
  private expiresAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Issues a new token (replacing any earlier one) and returns it. */
  issue(ttlMs: number = INSTALLER_TTL_MS): string {
    const token = randomBytes(32).toString("base64url");
    this.digest = createHash("sha256").update(token).digest();
    this.expiresAt = this.now() + ttlMs;
    return token;
  }

  /**
   * The current token as the worker processes of `basalt serve --workers` receive it (issue 19): its SHA-256
   * digest (hex) and expiry, never the token itself; null when none is active.
   */
  get shared(): { digest: string; expiresAt: number } | null {
    if (!this.active || !this.digest) return null;
    return { digest: this.digest.toString("hex"), expiresAt: this.expiresAt };
  }

  /** Accepts the token another process issued, known by `shared`'s digest and expiry. */
  adopt(shared: { digest: string; expiresAt: number }): void {
    if (!/^[0-9a-f]{64}$/.test(shared.digest) || !Number.isFinite(shared.expiresAt)) return;
    this.digest = Buffer.from(shared.digest, "hex");
    this.expiresAt = shared.expiresAt;
  }

  /** Whether a token is waiting to be used. */
  get active(): boolean {
    return this.digest !== null && this.now() < this.expiresAt;
  }

  /** Whether `token` is the current, unexpired token (does not spend it). */
  check(token: unknown): boolean {
    if (!this.active || typeof token !== "string" || token.length === 0 || token.length > 200) return false;
    const given = createHash("sha256").update(token).digest();
    return timingSafeEqual(given, this.digest as Buffer);
  }

  /** Forgets the token: the link stops working. */
  revoke(): void {
    this.digest = null;
    this.expiresAt = 0;
  }
}
