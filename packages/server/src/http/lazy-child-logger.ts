import type { FastifyBaseLogger } from "fastify";

/**
 * A request's logger that becomes the real child logger (with its `reqId` binding) on its first use. Most
 * requests never log through it, and building a pino child per request cost a visible part of a record
 * view's CPU (issue 19).
 */
export class LazyChildLogger {
  private real: FastifyBaseLogger | null = null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: object,
  ) {}

  private logger(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }

  get level(): string {
    return this.real ? this.real.level : this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    const logger = (this.real ?? this.parent) as FastifyBaseLogger & {
      isLevelEnabled?: (level: string) => boolean;
    };
    return logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
  }

  child(bindings: Record<string, unknown>, options?: object): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  fatal(...args: unknown[]): void {
    (this.logger().fatal as (...a: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    (this.logger().error as (...a: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    (this.logger().warn as (...a: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    (this.logger().info as (...a: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    (this.logger().debug as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    (this.logger().trace as (...a: unknown[]) => void)(...args);
  }

  silent(): void {}
}
