// access_log with log_format: lines are built from compiled complex values and written in
// batches (one write per event-loop turn), not per request.
import * as fs from 'node:fs';
import { compileComplex, evalComplex, type Complex } from '../http/complex.js';

export const COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';

class AccessLogFile {
  private fd: number;
  private pending: string[] = [];
  private scheduled = false;
  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'a');
  }
  append(line: string): void {
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending.length = 0;
    try {
      fs.writeSync(this.fd, data, null, 'latin1');
    } catch {
      // a full disk must not take the server down; the error log says the rest
    }
  }
  reopen(): void {
    this.flush();
    const fd = fs.openSync(this.path, 'a');
    fs.closeSync(this.fd);
    this.fd = fd;
  }
}

const files = new Map<string, AccessLogFile>();
const formats = new Map<string, Complex>();

export function accessLogFile(path: string): AccessLogFile {
  let f = files.get(path);
  if (!f) {
    f = new AccessLogFile(path);
    files.set(path, f);
  }
  return f;
}

export function writeAccessLog(req: any, path: string, format: string, formatsByName: Map<string, string>): void {
  let c = formats.get(format);
  if (!c) {
    c = compileComplex(format === 'combined' ? COMBINED : formatsByName.get(format) ?? COMBINED);
    formats.set(format, c);
  }
  accessLogFile(path).append(evalComplex(req, c) + '\n');
}

export function flushAccessLogs(): void {
  for (const f of files.values()) f.flush();
}

export function reopenAccessLogs(): void {
  for (const f of files.values()) f.reopen();
}
