// The static content handler (ngx_http_static_module + index): files under root/alias.
import * as fs from 'node:fs';
import type { Request } from './request.js';
import { finalize, output, sendHeader, endRequest } from './output.js';
import { httpTimeString } from '../ngx/timefmt.js';
import { logError, Level } from '../log/errorlog.js';
import { internalRedirect } from './phases.js';
import { escapeUriString } from '../ngx/codec.js';

/** nginx's built-in types when no `types` block is configured. */
const DEFAULT_TYPES = new Map([
  ['html', 'text/html'],
  ['htm', 'text/html'],
  ['gif', 'image/gif'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
]);

/** URIs and the configuration are byte strings (latin1): the file system gets those bytes, not
 *  their UTF-8 re-encoding ("/t/%E4%B8%AD" is the file whose name is those three bytes). A NUL
 *  ends the path, as it does for nginx's C strings (a decoded "%00" cannot reach past it). */
export function fsPath(p: string): Buffer {
  const nul = p.indexOf('\0');
  return Buffer.from(nul < 0 ? p : p.slice(0, nul), 'latin1');
}

export function contentTypeFor(req: Request, path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  const s = req.loc.s;
  if (dot > slash) {
    const ext = path.slice(dot + 1).toLowerCase();
    const t = (s.types ?? DEFAULT_TYPES).get(ext);
    if (t) return t;
  }
  return s.defaultType;
}

export function serveStatic(req: Request): void {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
    finalize(req, 405);
    return;
  }
  if (req.uri.endsWith('/')) {
    serveIndex(req);
    return;
  }
  const path = req.mapUriToPath(req.uri);
  let st: fs.Stats;
  try {
    st = fs.statSync(fsPath(path));
  } catch (e) {
    notFound(req, path, e as NodeJS.ErrnoException);
    return;
  }
  if (st.isDirectory()) {
    // ngx_http_static_handler escapes the (decoded) URI it redirects to
    req.headersOut.setRedirect(`${escapeUriString(req.uri)}/${req.args ? '?' + req.args : ''}`);
    finalize(req, 301);
    return;
  }
  if (req.method === 'POST') {
    finalize(req, 405);
    return;
  }
  sendFile(req, path, st);
}

function serveIndex(req: Request): void {
  const dir = req.mapUriToPath(req.uri);
  for (const name of req.loc.s.index) {
    const p = dir + name;
    if (fs.existsSync(fsPath(p))) {
      // nginx's index module does an internal redirect to the index file's URI
      internalRedirect(req, req.uri + name, req.hasArgs ? req.args : null);
      return;
    }
  }
  if (!fs.existsSync(fsPath(dir))) {
    notFound(req, dir + req.loc.s.index[0], { code: 'ENOENT' } as NodeJS.ErrnoException);
    return;
  }
  logError(Level.Err, `directory index of "${dir}" is forbidden`, req);
  finalize(req, 403);
}

function notFound(req: Request, path: string, e: NodeJS.ErrnoException): void {
  const [n, text] = e.code === 'EACCES' ? [13, 'Permission denied'] : e.code === 'ENOTDIR' ? [20, 'Not a directory'] : [2, 'No such file or directory'];
  logError(Level.Err, `open() "${path}" failed (${n}: ${text})`, req);
  finalize(req, e.code === 'EACCES' ? 403 : 404);
}

function sendFile(req: Request, path: string, st: fs.Stats): void {
  const h = req.headersOut;
  req.status = 200;
  h.contentType = contentTypeFor(req, path);
  h.contentLength = st.size;
  h.set('Last-Modified', httpTimeString(st.mtimeMs));
  h.set('ETag', `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`);
  h.set('Accept-Ranges', 'bytes');
  if (req.method === 'HEAD' || st.size === 0) {
    sendHeader(req);
    output(req, null, true);
    endRequest(req);
    return;
  }
  if (st.size <= 1 << 20) {
    const data = fs.readFileSync(fsPath(path));
    output(req, data, true);
    endRequest(req);
    return;
  }
  sendHeader(req);
  const stream = fs.createReadStream(fsPath(path), { highWaterMark: 1 << 16 });
  stream.on('data', (c) => output(req, c as Buffer, false));
  stream.on('end', () => {
    output(req, null, true);
    endRequest(req);
  });
  stream.on('error', (err) => {
    logError(Level.Err, `read() "${path}" failed: ${err.message}`, req);
    finalize(req, -1);
  });
}
