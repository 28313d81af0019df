// echo_before_body / echo_after_body (echo-nginx-module's output filter): text inserted before the
// first body buffer and after the last one, whatever produced the body (echo, Lua, proxy, static).
// The header filter clears Content-Length so the response streams (chunked) with the extra bytes.
import { Framing, type Request } from '../http/request.js';
import { addHeaderFilter, addBodyFilter, FilterOrder } from '../http/filters.js';
import { echoFilterConf, evalArgs, echoText, type EchoCmd } from './echo.js';

interface FilterState {
  beforeSent: boolean;
  skip: boolean;
}

function headerFilter(req: Request): void {
  const conf = echoFilterConf(req);
  if (conf === null || (conf.before === null && conf.after === null)) {
    const st = req.ext.echoFilterState as FilterState | undefined;
    if (st) st.skip = true;
    return;
  }
  if (!req.ext.echoFilterState) req.ext.echoFilterState = { beforeSent: false, skip: false } satisfies FilterState;
  req.headersOut.contentLength = -1;
  req.headersOut.remove('accept-ranges');
}

function runCmds(req: Request, cmds: EchoCmd[], parts: Uint8Array[]): void {
  for (const cmd of cmds) {
    const { args, opts } = evalArgs(req, cmd);
    const text = echoText(args, opts);
    if (text !== null && text.length > 0) parts.push(Buffer.from(text, 'latin1'));
  }
}

function bodyFilter(req: Request, data: Uint8Array | null, last: boolean): boolean | { data: Uint8Array | null; last: boolean } {
  if ((data === null && !last) || req.framing === Framing.NoBody) return true;
  const st = req.ext.echoFilterState as FilterState | undefined;
  if (!st || st.skip) return true;
  const conf = echoFilterConf(req);
  if (conf === null) return true;
  const parts: Uint8Array[] = [];
  if (!st.beforeSent) {
    st.beforeSent = true;
    if (conf.before !== null) runCmds(req, conf.before, parts);
  }
  if (conf.after === null) {
    st.skip = true;
    if (parts.length === 0) return true;
    if (data !== null) parts.push(data);
    return { data: Buffer.concat(parts), last };
  }
  if (data !== null && data.length > 0) parts.push(data);
  if (last) {
    runCmds(req, conf.after, parts);
    st.skip = true;
  }
  if (parts.length === 0) return { data: null, last };
  if (parts.length === 1 && parts[0] === data) return true;
  return { data: Buffer.concat(parts), last };
}

addHeaderFilter(FilterOrder.echo, headerFilter);
addBodyFilter(FilterOrder.echo, bodyFilter);
