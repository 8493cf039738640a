// KernelStream (the kernel-socket transport used against real peers):
// back-pressure on a write larger than its send buffer, on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { KernelStream } from '../../src/app/http11/kernel_stream.js';
import { parseIp } from '../../src/wire/ipv4_addr.js';

test('a write larger than the send buffer is cut short and onWritable follows until all of it went out', async (t) => {
  const payload = Buffer.alloc(4 << 20);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 131) >>> 7;
  const sink = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve) => {
    const srv = net.createServer((s) => {
      s.on('data', (b: Buffer) => {
        sink.update(b);
        received += b.length;
      });
      s.on('end', () => {
        s.end();
        resolve();
      });
    });
    t.after(() => srv.close());
    srv.listen(0, '127.0.0.1', () => start((srv.address() as net.AddressInfo).port));
  });
  const ks = new KernelStream();
  t.after(() => ks.stop());
  let off = 0;
  let writes = 0;
  let shortWrites = 0;
  const pump = (c: number): void => {
    while (off < payload.length) {
      const n = ks.write(c, payload, off, payload.length - off);
      if (n < 0) throw new Error('write failed');
      writes++;
      off += n;
      if (off < payload.length) {
        shortWrites++;
        return; // onWritable resumes
      }
    }
    ks.shutdown(c);
  };
  function start(port: number): void {
    ks.connect(0, parseIp('127.0.0.1'), port, {
      onConnected: (c) => pump(c),
      onData: () => {},
      onWritable: (c) => pump(c),
      onPeerClosed: () => {},
      onClosed: () => {},
    });
  }
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`stalled after ${received} of ${payload.length} bytes`)), 10_000));
  await Promise.race([done, timer]);
  assert.equal(received, payload.length);
  assert.equal(sink.digest('hex'), createHash('sha256').update(payload).digest('hex'));
  assert.ok(shortWrites > 0 && writes > 1, `the 4 MB write was cut short (${writes} writes, ${shortWrites} short)`);
});
