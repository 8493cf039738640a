import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { Recorder, ScriptRig, type Seg, fromPeer, openConn, prng } from './harness.js';

test('random segments (flags, numbers, options, payloads) never throw, and buffers and TCBs stay accounted for', () => {
  const rig = new ScriptRig({ timeWaitUs: 1_000_000 });
  const srv = new Recorder();
  rig.tcp.listen(0, 80, srv);
  const rnd = prng(21);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const k = openConn(rig, { sackOk: true, ws: 7, ts: [5, 0] });
  for (let i = 0; i < 20_000; i++) {
    const near = (x: number) => (x + Math.floor((rnd() - 0.5) * 200_000)) >>> 0;
    const s: Seg = rnd() < 0.5
      ? fromPeer(k, { seq: near(k.peerNxt), ack: near(k.sndNxt) })
      : { sport: pick([80, 1234, 40000]), dport: pick([80, 81, k.port]), seq: Math.floor(rnd() * 2 ** 32), ack: Math.floor(rnd() * 2 ** 32), flags: 0, win: 0 };
    s.flags = pick([TCP_ACK, TCP_SYN, TCP_RST, TCP_FIN | TCP_ACK, TCP_SYN | TCP_ACK, TCP_PSH | TCP_ACK, Math.floor(rnd() * 256)]);
    s.win = Math.floor(rnd() * 65536);
    if (rnd() < 0.3) s.ts = [Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32)];
    if (rnd() < 0.2) s.sack = [[near(k.sndNxt), near(k.sndNxt)]];
    if (rnd() < 0.2) s.mss = Math.floor(rnd() * 65536);
    if (rnd() < 0.4) s.data = new Uint8Array(Math.floor(rnd() * 1400));
    rig.peer.send(s);
    if (i % 16 === 0) rig.node.poll();
    if (i % 512 === 0) {
      rig.peer.recv();
      rig.advance(50_000);
    }
    if (rig.tcp.state(k.c) === 0) Object.assign(k, openConn(rig, { sackOk: true, ws: 7, ts: [5, 0] }));
  }
  rig.node.poll();
  rig.peer.recv();
  // Let every timer run out: all connections end, every buffer returns.
  for (const c of [...srv.connected, k.c]) if (rig.tcp.state(c) !== 0) rig.tcp.abort(c);
  rig.advance(200_000_000 / 50);
  for (let i = 0; i < 200 && rig.tcp.activeConnections > 0; i++) rig.advance(1_000_000);
  assert.equal(rig.tcp.activeConnections, 0);
  assert.equal(rig.tcp.chunks.available, rig.tcp.chunks.count);
  assert.equal(rig.node.queue.pool.available, 2048);
});
