// Writes straight to a socket's stream handle, below Node's Writable.
//
// socket.write() runs Writable's bookkeeping, allocates a WriteWrap per write and schedules an
// after-write tick, for a write that nearly always completes at once: libuv tries the write
// immediately and only queues what the kernel did not take. A response and a cosocket send are one
// write each, so that overhead was ~4% of a request doing one Redis command. Here the handle's
// writeBuffer/writeLatin1String (what net.Socket calls itself) are called directly when nothing
// waits in front (Writable's buffer empty, not corked, connected). A completed write needs no
// request object; one WriteWrap is kept spare and only replaced when libuv queued a rest (it then
// belongs to that write until its completion callback).
//
// Bytes libuv queued are invisible to socket.writableLength: callers that account for unsent
// output use `unsentBytes()` and `needsDrain()`, and 'drain' is emitted on the socket when the
// queued bytes are gone after a write reported backpressure. Writes made through socket.write()
// afterwards queue behind them in libuv, and end() shuts the socket down after them. Without the
// stream_wrap binding (another runtime) everything goes through socket.write(). Not counted by
// direct writes: socket.bytesWritten and socket.setTimeout()'s activity timer (tsresty's sockets use
// neither).
import * as net from 'node:net';
import { getSystemErrorName } from 'node:util';

interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  socket: net.Socket | null;
  buffer: Uint8Array | string | null;
  bytes: number;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

interface Binding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kBytesWritten: number;
}

function loadBinding(): Binding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<Binding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !b.streamBaseState || typeof b.kLastWriteWasAsync !== 'number' || typeof b.kBytesWritten !== 'number') return null;
    return b as Binding;
  } catch {
    return null;
  }
}

const binding = loadBinding();
let spare: WriteReq | null = binding === null ? null : newReq();

function newReq(): WriteReq {
  const r = new binding!.WriteWrap();
  r.oncomplete = queuedDone;
  r.socket = null;
  r.buffer = null;
  r.bytes = 0;
  return r;
}

/** Output libuv holds for a socket after direct writes, and whether a caller was told to wait. */
interface Queued {
  bytes: number;
  needDrain: boolean;
}
const QUEUED = Symbol('tsresty.direct-write-queued');
type DirectSocket = net.Socket & { [QUEUED]?: Queued; _handle: StreamHandle | null };

/** Like socket.write(bytes): false when the caller should wait for 'drain'. */
export function writeBytes(s: net.Socket, data: Uint8Array): boolean {
  const h = directHandle(s as DirectSocket);
  if (h === null) return s.write(data) && !queuedNeedDrain(s as DirectSocket);
  const req = spare!;
  return settle(s as DirectSocket, req, h.writeBuffer(req, data), data);
}

/** Like socket.write(text, 'latin1'). */
export function writeLatin1(s: net.Socket, data: string): boolean {
  const h = directHandle(s as DirectSocket);
  if (h === null) return s.write(data, 'latin1') && !queuedNeedDrain(s as DirectSocket);
  const req = spare!;
  return settle(s as DirectSocket, req, h.writeLatin1String(req, data), data);
}

/** Bytes written but not yet handed to the kernel (Writable's buffer and direct writes). */
export function unsentBytes(s: net.Socket): number {
  const q = (s as DirectSocket)[QUEUED];
  return s.writableLength + (q === undefined ? 0 : q.bytes);
}

/** socket.writableNeedDrain, counting direct writes. */
export function needsDrain(s: net.Socket): boolean {
  return s.writableNeedDrain || queuedNeedDrain(s as DirectSocket);
}

function queuedNeedDrain(s: DirectSocket): boolean {
  const q = s[QUEUED];
  return q !== undefined && q.needDrain;
}

function directHandle(s: DirectSocket): StreamHandle | null {
  if (spare === null || s.writableLength !== 0 || s.writableCorked !== 0 || s.connecting || !s.writable) return null;
  if ((s as { encrypted?: boolean }).encrypted === true) return null; // TLS keeps Node's path
  const q = s[QUEUED];
  if (q !== undefined && q.bytes > 0) return null; // behind queued bytes: Writable's flow control takes over
  return s._handle;
}

function settle(s: DirectSocket, req: WriteReq, err: number, data: Uint8Array | string): boolean {
  const b = binding!;
  if (err !== 0) {
    // what Node does with a write that failed at once: the socket is destroyed with the error (and
    // the request object is not reused: libuv may have been handed it before failing)
    spare = newReq();
    const name = getSystemErrorName(err);
    s.destroy(Object.assign(new Error(`write ${name}`), { errno: err, code: name, syscall: 'write' }));
    return false;
  }
  if (b.streamBaseState[b.kLastWriteWasAsync] === 0) return true;
  // libuv queued the rest: this request is now that write's, until queuedDone
  spare = newReq();
  req.socket = s;
  req.buffer = data;
  req.bytes = b.streamBaseState[b.kBytesWritten];
  let q = s[QUEUED];
  if (q === undefined) s[QUEUED] = q = { bytes: 0, needDrain: false };
  q.bytes += req.bytes;
  if (q.bytes < s.writableHighWaterMark) return true;
  q.needDrain = true;
  return false;
}

function queuedDone(this: WriteReq, status: number): void {
  const s = this.socket as DirectSocket;
  this.socket = null;
  this.buffer = null;
  const q = s[QUEUED]!;
  q.bytes -= this.bytes;
  if (status < 0) {
    if (!s.destroyed) {
      const name = getSystemErrorName(status);
      s.destroy(Object.assign(new Error(`write ${name}`), { errno: status, code: name, syscall: 'write' }));
    }
    return;
  }
  if (q.bytes === 0 && q.needDrain) {
    q.needDrain = false;
    // writes made meanwhile went through Writable: drain once they are done too
    if (s.writableLength === 0) s.emit('drain');
    else if (s.writable) s.write(EMPTY, () => emitDrain(s));
  }
}

const EMPTY = Buffer.alloc(0);

function emitDrain(s: net.Socket): void {
  if (!s.destroyed && unsentBytes(s) === 0) s.emit('drain');
}
