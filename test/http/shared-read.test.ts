import * as net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { readThroughSharedBuffer, redirectSharedReads } from '../../src/http/transport/shared-read.js';

const open: (net.Server | net.Socket)[] = [];
afterEach(() => {
  for (const x of open.splice(0)) {
    if (x instanceof net.Socket) x.destroy();
    else x.close();
  }
});

/** A server whose accepted socket reads through the shared buffer, and a client connected to it. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket; switched: boolean }> {
  const srv = net.createServer({ allowHalfOpen: true });
  open.push(srv);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  open.push(client);
  const [server] = (await accepted) as [net.Socket];
  open.push(server);
  srv.close();
  const switched = readThroughSharedBuffer(server);
  return { server, client, switched };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('client sockets reading through the shared buffer', () => {
  it('switches an accepted socket (Node 20 has what it needs)', async () => {
    const { switched } = await pair();
    expect(switched).toBe(true);
  });

  it("emits 'data' with copies: an earlier chunk survives the next read", async () => {
    const { server, client } = await pair();
    const got: Buffer[] = [];
    server.on('data', (d: Buffer) => got.push(d));
    client.write('first chunk');
    while (got.length < 1) await sleep(5);
    client.write('SECOND');
    while (Buffer.concat(got).length < 17) await sleep(5);
    expect(got[0].toString()).toBe('first chunk');
    expect(Buffer.concat(got).toString()).toBe('first chunkSECOND');
  });

  it("pauses, resumes and reports 'end' like a Readable socket", async () => {
    const { server, client } = await pair();
    const got: Buffer[] = [];
    server.on('data', (d: Buffer) => got.push(d));
    const ended = once(server, 'end');
    server.pause();
    client.write('held back');
    await sleep(50);
    expect(got.length).toBe(0);
    server.resume();
    client.end();
    await ended;
    expect(Buffer.concat(got).toString()).toBe('held back');
  });

  it('hands reads to another callback (a taken-over connection), which can stop them', async () => {
    const { server, client } = await pair();
    const seen: string[] = [];
    let stop = true;
    expect(redirectSharedReads(server, (n, buf) => {
      seen.push(buf.toString('latin1', 0, n));
      return !stop;
    })).toBe(true);
    server.on('data', () => seen.push('data event'));
    client.write('one');
    while (seen.length < 1) await sleep(5);
    client.write('two');
    await sleep(50);
    expect(seen).toEqual(['one']); // stopped after the first read
    stop = false;
    server.read(0); // restarts the handle, as a cosocket's resumeReading does
    while (seen.length < 2) await sleep(5);
    expect(seen).toEqual(['one', 'two']);
  });

  it('leaves a socket that was not switched alone', async () => {
    const { client } = await pair();
    expect(redirectSharedReads(client, () => true)).toBe(false);
  });
});
