// Client sockets read into one shared buffer instead of a fresh one per read.
//
// A socket accepted by net.Server reads the Readable way: libuv asks Node for a buffer per read,
// Node mallocs 64 KB, reallocs it down to the bytes read, wraps it in a new ArrayBuffer and pushes
// it through the Readable machinery to the 'data' listeners. For a 100-byte request that is most
// of the cost of reading it. Sockets created with net.Socket's `onread` option read into a buffer
// they are given and call a callback instead; net.Server has no such option for the sockets it
// accepts, so the same switch is made on the accepted socket: the fields the constructor would
// have set (found by their symbols' descriptions on a probe socket) and the handle's
// useUserBuffer(), as net.Socket's own initSocketHandle does. If this Node lacks any of it, the
// socket keeps reading the Readable way.
//
// The callback copies the bytes out (Buffer.from, from Node's pooled slab for small reads) and
// emits 'data' with the copy, so listeners own what they get exactly as before; pause(), resume()
// and 'end' work unchanged (net.Socket handles user-buffer sockets in each).
import * as net from 'node:net';

const SHARED = Buffer.allocUnsafe(65536);

interface Fields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

function findFields(): Fields | null {
  const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts);
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  probe.destroy();
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  return { buffer, callback, generator };
}

const fields = findFields();

function onSharedRead(this: net.Socket, n: number, buf: Buffer): boolean {
  this.emit('data', Buffer.from(buf.subarray(0, n)));
  return true;
}

type Handle = { useUserBuffer?: (b: Uint8Array) => void; reading?: boolean };

/** Make an accepted socket read through the shared buffer (before any of its reads completed,
 *  i.e. in the server's 'connection' event). False if it keeps reading the Readable way. */
export function readThroughSharedBuffer(s: net.Socket): boolean {
  const h = (s as unknown as { _handle: Handle | null })._handle;
  if (fields === null || h === null || typeof h.useUserBuffer !== 'function') return false;
  const o = s as unknown as Record<symbol, unknown>;
  o[fields.buffer] = SHARED;
  o[fields.callback] = onSharedRead;
  o[fields.generator] = null;
  h.useUserBuffer(SHARED);
  return true;
}

/** Hand a socket's reads (one set up by readThroughSharedBuffer) to `cb` instead of 'data' events:
 *  `cb` gets a view of the shared buffer, valid during the call, and returns false to stop
 *  reading until the socket's read(0) or resume(). False if the socket does not read that way. */
export function redirectSharedReads(s: net.Socket, cb: (this: net.Socket, n: number, buf: Buffer) => boolean): boolean {
  const o = s as unknown as Record<symbol, unknown>;
  if (fields === null || o[fields.buffer] !== SHARED) return false;
  o[fields.callback] = cb;
  return true;
}
