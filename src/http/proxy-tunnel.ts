// ngx_http_upstream_upgrade: after a "101 Switching Protocols" answer to a client that asked for
// an Upgrade (WebSocket...), both connections are joined and bytes flow both ways until one side
// closes or nothing moves for proxy_read_timeout.
import type * as net from 'node:net';
import type { Exchange } from './transport.js';

/** Join the client (taken over from the transport) and the upstream; `done` runs once at the end. */
export function tunnel(x: Exchange, up: net.Socket, fromUpstream: Buffer | null, idleMs: number, onIdle: () => void, done: () => void): void {
  const { socket: client, buffered } = x.detach();
  let finished = false;
  let timer: NodeJS.Timeout | null = null;
  const close = (): void => {
    if (finished) return;
    finished = true;
    if (timer !== null) clearTimeout(timer);
    client.destroy();
    up.destroy();
    done();
  };
  if (idleMs > 0) {
    timer = setTimeout(() => {
      onIdle();
      close();
    }, idleMs);
  }
  const touch = (): void => {
    if (timer !== null) timer.refresh();
  };
  let clientEnded = false;
  let upEnded = false;
  client.on('data', (d: Buffer) => {
    touch();
    if (!up.write(d)) client.pause();
  });
  up.on('data', (d: Buffer) => {
    touch();
    if (!client.write(d)) up.pause();
  });
  up.on('drain', () => client.resume());
  client.on('drain', () => up.resume());
  client.on('end', () => {
    clientEnded = true;
    up.end();
    if (upEnded) close();
  });
  up.on('end', () => {
    upEnded = true;
    client.end();
    if (clientEnded) close();
  });
  client.on('error', close);
  up.on('error', close);
  client.on('close', close);
  up.on('close', close);
  if (buffered !== null && buffered.length > 0) up.write(buffered);
  if (fromUpstream !== null && fromUpstream.length > 0) client.write(fromUpstream);
  client.resume();
  up.resume();
}
