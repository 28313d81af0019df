// Listening sockets shared by worker threads (Node 20: no SO_REUSEPORT in net).
//
// Every worker thread listens on its own file descriptor for the same socket (server.listen({fd})),
// so the kernel spreads connections over the threads. "Its own" matters: closing a handle closes
// its fd, and a thread that exits closes all of its handles, so threads sharing one fd number
// would lose the socket when any of them stopped or crashed. Node has no dup(), but a socket
// sent over an IPC channel (SCM_RIGHTS) arrives as a new descriptor: a short-lived helper child
// receives each listening socket and sends it back as many times as descriptors are needed.
//
// The master itself never accepts: it binds and listens (so bind errors are reported as usual),
// hands the socket to the helper and closes its own handle in the same tick, before the event loop
// could poll it; the socket stays open through the descriptor in flight, and connections wait in
// the backlog until a worker listens. The master keeps one extra descriptor per socket ("keeper",
// never polled) to make more copies for restarted workers and reloads.
import * as net from 'node:net';
import * as fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

/** A libuv TCP or Pipe handle received over IPC ("net.Native"): an open fd, not polled here. */
export interface RawHandle {
  readonly fd: number;
  close(cb?: () => void): void;
}

export interface ListenSpec {
  /** "host:port" or the unix path: the same key means the same socket across reloads */
  key: string;
  port: number;
  listen: net.ListenOptions;
}

// The helper: raw handles arrive as "net.Native"; each is sent back `count` times, then it waits
// for the parent to disconnect. Node queues handle messages until the peer acknowledges each one.
const HELPER = `
const count = Number(process.argv[1]);
process.on('message', (m, h) => {
  if (!h) return;
  for (let k = 0; k < count; k++) process.send({ i: m.i }, h);
});
process.on('disconnect', () => process.exit(0));
`;

class Helper {
  private readonly child: ChildProcess;
  private readonly got = new Map<number, RawHandle[]>();
  private waiters: (() => void)[] = [];
  private failed: Error | null = null;

  constructor(readonly count: number) {
    this.child = spawn(process.execPath, ['-e', HELPER, String(count)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '' },
    });
    this.child.on('message', (m: { i: number }, h?: RawHandle) => {
      if (!h) return;
      let list = this.got.get(m.i);
      if (!list) this.got.set(m.i, (list = []));
      list.push(h);
      this.wake();
    });
    this.child.on('error', (e) => this.fail(e));
    this.child.on('exit', (code) => this.fail(new Error(`descriptor helper exited with code ${code}`)));
  }

  private fail(e: Error): void {
    if (!this.failed) this.failed = e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends the handle; resolves once it was written (so its own fd may be closed). */
  send(i: number, handle: unknown): boolean {
    const ch = this.child.channel as unknown as { writeQueueSize?: number } | undefined;
    this.child.send({ i }, handle as net.Server);
    return (ch?.writeQueueSize ?? 0) === 0;
  }

  /** The `count` copies of socket `i`. */
  async take(i: number): Promise<RawHandle[]> {
    for (;;) {
      const list = this.got.get(i);
      if (list && list.length >= this.count) {
        this.got.delete(i);
        return list;
      }
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  done(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

/** nginx's wording for a failed bind/listen. */
function bindError(spec: ListenSpec, e: NodeJS.ErrnoException): Error {
  const errno: Record<string, string> = { EADDRINUSE: '98: Address already in use', EACCES: '13: Permission denied', EADDRNOTAVAIL: '99: Cannot assign requested address' };
  const where = spec.listen.path ? `unix:${spec.listen.path}` : `${spec.listen.host ?? '0.0.0.0'}:${spec.port}`;
  return new Error(`bind() to ${where} failed (${errno[e.code ?? ''] ?? e.message})`);
}

/**
 * Makes `count` descriptors per socket. Create it early: the helper process starts while the
 * caller does other work (worker threads booting), and bind()/dup() use it when needed.
 */
export class Binder {
  private helper: Helper;
  private next = 0;

  constructor(readonly count: number) {
    this.helper = new Helper(count);
  }

  /**
   * Binds each spec and returns `count` descriptors for each (spec order). A unix socket is bound
   * under a temporary name and renamed into place, so closing the master's handle (which unlinks
   * the name it bound) leaves the real path alone; the master unlinks it at exit.
   */
  async bind(specs: ListenSpec[]): Promise<RawHandle[][]> {
    const out: RawHandle[][] = [];
    for (const spec of specs) {
      const i = this.next++;
      const path = spec.listen.path;
      if (path !== undefined && fs.existsSync(path)) throw bindError(spec, Object.assign(new Error(''), { code: 'EADDRINUSE' }));
      const listen = path !== undefined ? { ...spec.listen, path: `${path}.${process.pid}.tmp` } : spec.listen;
      await new Promise<void>((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', (e) => reject(bindError(spec, e)));
        srv.listen(listen, () => {
          // still in the tick that created the socket: nothing has polled it yet
          try {
            if (path !== undefined) fs.renameSync(listen.path!, path);
            const sync = this.helper.send(i, (srv as unknown as { _handle: unknown })._handle);
            if (sync) srv.close();
            else setImmediate(() => srv.close());
            resolve();
          } catch (e) {
            srv.close();
            reject(e);
          }
        });
      });
      out.push(await this.helper.take(i));
    }
    return out;
  }

  /** `count` more descriptors for each socket, copied from the given (keeper) handles. */
  async dup(handles: RawHandle[]): Promise<RawHandle[][]> {
    const out: RawHandle[][] = [];
    for (const h of handles) {
      const i = this.next++;
      this.helper.send(i, h);
      out.push(await this.helper.take(i));
    }
    return out;
  }

  close(): void {
    this.helper.done();
  }
}
