// Request bodies larger than client_body_buffer_size (or any body with client_body_in_file_only)
// go to a temporary file, as nginx does: ngx.req.get_body_data() is then nil and
// ngx.req.get_body_file() names the file. Files are removed when the request ends unless
// client_body_in_file_only is "on" (nginx keeps them then).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Request } from './request.js';
import { logError, Level } from '../log/errorlog.js';

let tempSerial = 0;

/** Store a completed body: in memory, or in a temp file when the location says so. */
export function storeBody(req: Request, body: Buffer | null, bufferSize = -1): void {
  req.bodyRaw = body;
  const s = req.loc.s;
  const mode = (s.ext.bodyInFileOnly as string | undefined) ?? 'off';
  const len = body ? body.length : 0;
  if (mode === 'off' && len <= (bufferSize >= 0 ? bufferSize : s.clientBodyBufferSize)) {
    req.body = body;
    return;
  }
  if (mode === 'off' && len === 0) {
    req.body = body;
    return;
  }
  const dir = (s.ext.clientBodyTempPath as string | undefined) ?? path.join(req.worker.conf.prefix, 'client_body_temp');
  const file = path.join(dir, String(++tempSerial + process.pid * 1000).padStart(10, '0'));
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, body ?? Buffer.alloc(0));
  } catch (e) {
    logError(Level.Crit, `open() "${file}" failed (${(e as Error).message})`, req);
    req.body = body;
    return;
  }
  if (mode === 'off') logError(Level.Warn, `a client request body is buffered to a temporary file ${file}`, req);
  req.body = null;
  req.bodyFile = file;
  if (mode !== 'on') req.ext.removeBodyFile = file;
}

/** Called at the end of a request. */
export function removeBodyFile(req: Request): void {
  const f = req.ext.removeBodyFile as string | undefined;
  if (!f) return;
  req.ext.removeBodyFile = undefined;
  // synchronously: the next (pipelined) request must not still find it
  try {
    fs.rmSync(f, { force: true });
  } catch (e) {
    logError(Level.Crit, `unlink() "${f}" failed (${(e as Error).message})`, req);
  }
}
