import * as net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { needsDrain, unsentBytes, writeBytes, writeLatin1 } from '../../src/http/transport/direct-write.js';

// A real loopback pair: `client` is written to directly, `peer` reads (or holds off reading so the
// kernel buffers fill and libuv has to queue).
const open: net.Socket[] = [];
let server: net.Server | null = null;

async function pair(): Promise<{ client: net.Socket; peer: net.Socket }> {
  server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [peer] = (await once(server, 'connection')) as [net.Socket];
  await once(client, 'connect');
  peer.pause();
  open.push(client, peer);
  return { client, peer };
}

async function readAll(peer: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  peer.on('data', (d: Buffer) => chunks.push(d));
  peer.resume();
  await once(peer, 'end');
  return Buffer.concat(chunks);
}

afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
  server?.close();
  server = null;
});

describe('direct socket writes', () => {
  it('writes bytes and latin1 text in order with socket.write()', async () => {
    const { client, peer } = await pair();
    expect(writeBytes(client, Buffer.from('one '))).toBe(true);
    expect(writeLatin1(client, 'tw\u00f6 ')).toBe(true);
    client.write('three');
    expect(unsentBytes(client)).toBeGreaterThanOrEqual(0);
    client.end();
    expect((await readAll(peer)).toString('latin1')).toBe('one tw\u00f6 three');
  });

  it('queues what the kernel does not take, reports backpressure, drains and keeps the order', async () => {
    const { client, peer } = await pair();
    const big = Buffer.alloc(32 * 1024 * 1024, 'a');
    const ok = writeBytes(client, big);
    // the peer is not reading: most of 32 MB cannot have reached the kernel
    expect(ok).toBe(false);
    expect(needsDrain(client)).toBe(true);
    expect(unsentBytes(client)).toBeGreaterThan(0);
    // written meanwhile: goes through Writable, behind the queued bytes
    expect(writeBytes(client, Buffer.from('tail'))).toBe(false);
    const drained = once(client, 'drain');
    const got = readAll(peer);
    await drained;
    expect(unsentBytes(client)).toBe(0);
    expect(needsDrain(client)).toBe(false);
    client.end();
    const all = await got;
    expect(all.length).toBe(big.length + 4);
    expect(all.subarray(all.length - 4).toString()).toBe('tail');
  });

  it('end() after queued bytes sends them all before the FIN', async () => {
    const { client, peer } = await pair();
    const big = Buffer.alloc(8 * 1024 * 1024, 'b');
    writeBytes(client, big);
    client.end();
    expect((await readAll(peer)).length).toBe(big.length);
  });

  it('a write to a reset connection destroys the socket with the error, as Node does', async () => {
    const { client, peer } = await pair();
    // not reading (below pause(), which keeps reading until the buffer fills): only the write
    // can notice the reset
    (client as unknown as { _handle: { readStop(): number } })._handle.readStop();
    const failed = once(client, 'error');
    peer.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(client.destroyed).toBe(false);
    expect(writeBytes(client, Buffer.from('late'))).toBe(false);
    const [err] = (await failed) as [NodeJS.ErrnoException];
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    expect(err.syscall).toBe('write');
    expect(client.destroyed).toBe(true);
  });
});
