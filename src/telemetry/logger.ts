import { pino, type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Structured JSON logs on stderr, so that stdout stays free for command output. */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { service: 'spanline' } }, pino.destination({ fd: 2, sync: false }));
}

/**
 * Logs a repeated event once per interval with the count since the last line, never once per span.
 * `add` is cheap enough for hot paths.
 */
export class CountedLog {
  private pending = 0;
  private lastReason = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  add(count: number, reason: string): void {
    if (count <= 0) return;
    this.pending += count;
    this.lastReason = reason;
    if (this.timer === undefined) {
      // The first occurrence is logged at once; later ones are summed until the interval ends.
      this.flush();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.pending === 0) return;
    this.logger.warn({ count: this.pending, reason: this.lastReason }, this.message);
    this.pending = 0;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
