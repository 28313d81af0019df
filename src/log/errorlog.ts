// nginx's error log: "2024/01/02 03:04:05 [error] 123#123: *1 message, client: ..., server: ...".
// Lines are written synchronously (like nginx's write(2)) so a crash never loses the line that
// explains it, and tests can read the log as soon as a response arrives.
import * as fs from 'node:fs';
import { threadId } from 'node:worker_threads';
import { errorLogTime } from '../ngx/timefmt.js';

export const LEVELS = ['stderr', 'emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
export type LevelName = (typeof LEVELS)[number];
export const enum Level {
  Stderr = 0,
  Emerg = 1,
  Alert = 2,
  Crit = 3,
  Err = 4,
  Warn = 5,
  Notice = 6,
  Info = 7,
  Debug = 8,
}

export function levelFromName(name: string): number {
  const i = LEVELS.indexOf(name as LevelName);
  return i < 0 ? -1 : i;
}

/** What a request contributes to a log line (nginx's ngx_http_log_error). */
export interface LogContext {
  logSuffix(): string;
  connSerial(): number;
}

class ErrorLog {
  private fd = 2;
  private path: string | null = null;
  level: number = Level.Err;
  private ident = `${process.pid}#${threadId === 0 ? process.pid : threadId}`;
  /** Extra sinks (e.g. ngx.errlog capture, tests). */
  readonly taps: ((level: number, line: string) => void)[] = [];

  open(path: string | null, level: number): void {
    if (level >= 0) this.level = level;
    if (path === null || path === 'stderr') {
      this.closeFile();
      this.fd = 2;
      this.path = null;
      return;
    }
    if (path === this.path) return;
    const fd = fs.openSync(path, 'a');
    this.closeFile();
    this.fd = fd;
    this.path = path;
  }

  /** USR1: reopen the file (log rotation). */
  reopen(): void {
    if (this.path === null) return;
    const p = this.path;
    this.path = null;
    this.open(p, -1);
  }

  private closeFile(): void {
    if (this.fd > 2) fs.closeSync(this.fd);
    this.fd = 2;
  }

  enabled(level: number): boolean {
    return level <= this.level;
  }

  write(level: number, msg: string, ctx: LogContext | null = null): void {
    if (level > this.level) return;
    const serial = ctx ? ctx.connSerial() : 0;
    const conn = serial ? `*${serial} ` : ''; // 0: a context without a connection (init_worker...)
    const suffix = ctx ? ctx.logSuffix() : '';
    const line = `${errorLogTime(Date.now())} [${LEVELS[level]}] ${this.ident}: ${conn}${msg}${suffix}\n`;
    try {
      fs.writeSync(this.fd, line, null, 'latin1'); // messages are byte strings
    } catch {
      // the log itself failed (disk full, closed fd): stderr is the last resort
      if (this.fd !== 2) fs.writeSync(2, line, null, 'latin1');
    }
    for (const t of this.taps) t(level, line);
  }
}

export const errorLog = new ErrorLog();

export function logError(level: number, msg: string, ctx: LogContext | null = null): void {
  errorLog.write(level, msg, ctx);
}
