// Test helpers: a transport on a random port and a raw-socket client that sees exact bytes.
import * as net from 'node:net';
import { createTransport, httpDate, type ClientErrorInfo, type Exchange, type ListenerOptions, type Transport } from '../../src/http/transport.js';

export interface Srv {
  port: number;
  t: Transport;
  errors: ClientErrorInfo[];
  close(): Promise<void>;
}

export async function serve(onRequest: (ex: Exchange) => void, options: Partial<ListenerOptions> = {}): Promise<Srv> {
  const errors: ClientErrorInfo[] = [];
  const t = createTransport({
    listeners: [{ listen: { port: 0, host: '127.0.0.1' }, options }],
    onRequest,
    onClientError: (i) => errors.push(i),
  });
  await t.ready;
  const port = (t.addresses()[0] as net.AddressInfo).port;
  return { port, t, errors, close: () => t.close(200) };
}

/** A plain-text answer describing the request, with Content-Length. */
export function echo(ex: Exchange, extra = ''): void {
  const text = `${ex.head.method} ${ex.head.uri} HTTP/${ex.head.httpMajor}.${ex.head.httpMinor} #${ex.connectionRequests}${extra}\n`;
  ex.writeHead(200, null, ['Server', 'test', 'Date', httpDate(), 'Content-Type', 'text/plain'], { contentLength: text.length });
  ex.end(text);
}

export interface RawResult {
  data: string;
  /** the server closed the connection */
  closed: boolean;
}

/**
 * Connect, send the pieces (a short pause between them so they arrive as separate reads), then
 * collect bytes until `until(data)` is true (then close ourselves), the server closes, or timeout.
 */
export function raw(port: number, pieces: (string | Buffer)[], opts: {
  until?: (data: string) => boolean;
  timeoutMs?: number;
  halfClose?: boolean;
  gapMs?: number;
} = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    s.on('data', (d) => {
      data += d.toString('latin1');
      if (opts.until && opts.until(data)) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? finish(true) : reject(e)));
    s.on('connect', async () => {
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0) await sleep(opts.gapMs ?? 20);
        if (!s.destroyed) s.write(typeof pieces[i] === 'string' ? Buffer.from(pieces[i] as string, 'latin1') : pieces[i]);
      }
      if (opts.halfClose) s.end();
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Resp {
  status: number;
  statusLine: string;
  headers: [string, string][];
  header(name: string): string | undefined;
  body: string;
  chunked: boolean;
}

/** Split a byte stream into HTTP/1.x responses (Content-Length, chunked, or up to the end). */
export function parseResponses(data: string, headOnly: boolean[] = []): Resp[] {
  const out: Resp[] = [];
  let pos = 0;
  while (pos < data.length) {
    const he = data.indexOf('\r\n\r\n', pos);
    if (he < 0) throw new Error('incomplete head: ' + JSON.stringify(data.slice(pos)));
    const lines = data.slice(pos, he).split('\r\n');
    const statusLine = lines[0];
    const status = Number(statusLine.split(' ')[1]);
    const headers = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as [string, string]);
    const header = (n: string): string | undefined => headers.find((h) => h[0].toLowerCase() === n.toLowerCase())?.[1];
    pos = he + 4;
    let body = '';
    const te = header('transfer-encoding');
    const cl = header('content-length');
    if (headOnly[out.length] || status === 100 || status === 204 || status === 304) {
      // no body
    } else if (te === 'chunked') {
      for (;;) {
        const le = data.indexOf('\r\n', pos);
        const size = parseInt(data.slice(pos, le), 16);
        pos = le + 2;
        if (size === 0) {
          pos += 2;
          break;
        }
        body += data.slice(pos, pos + size);
        pos += size + 2;
      }
    } else if (cl !== undefined) {
      body = data.slice(pos, pos + Number(cl));
      pos += Number(cl);
    } else {
      body = data.slice(pos);
      pos = data.length;
    }
    out.push({ status, statusLine, headers, header, body, chunked: te === 'chunked' });
  }
  return out;
}

/** Wait until cond() is true (polling), or fail after ms. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}
