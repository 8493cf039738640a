import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { ScriptRig, bytes, fromPeer, openConn } from './harness.js';

test('zero window: sending stops, persist probes back off while the window stays shut, data resumes when it opens', () => {
  const rig = new ScriptRig({ timestamps: false, rtoMinUs: 200_000 });
  const k = openConn(rig, { mss: 1000 }, 1000);
  const data = bytes(3000, 4);
  rig.tcp.write(k.c, data, 0, 3000);
  const [s1, ...none] = rig.sent();
  assert.equal(none.length, 0);
  assert.equal(s1.data?.length, 1000); // the peer's window
  assert.deepEqual(rig.exchange(fromPeer(k, { ack: k.sndNxt + 1000, win: 0 })), []);
  const probes: number[] = [];
  const start = rig.clock.nowUs();
  for (let i = 0; i < 40; i++) {
    for (const p of rig.advance(100_000)) {
      assert.equal(p.flags, TCP_ACK);
      assert.equal(p.seq, k.sndNxt + 999); // SND.UNA - 1, no data
      assert.equal(p.data, undefined);
      probes.push(Math.round((rig.clock.nowUs() - start) / 100_000));
      rig.exchange(fromPeer(k, { ack: k.sndNxt + 1000, win: 0 })); // still shut
    }
  }
  // 0.2 s, then 0.4 s, 0.8 s, 1.6 s apart.
  assert.deepEqual(probes, [2, 6, 14, 30]);
  assert.equal(rig.tcp.counters.persistProbes, 4);
  assert.equal(rig.tcp.state(k.c), 4);
  const rest = rig.exchange(fromPeer(k, { ack: k.sndNxt + 1000, win: 5000 }));
  assert.deepEqual(rest.map((s) => s.seq - k.sndNxt), [1000, 2000]);
  assert.deepEqual(rest[1].data, data.subarray(2000, 3000));
});

test('window scaling: after the handshake the peer window field is shifted; a window update from an old segment is ignored', () => {
  const rig = new ScriptRig({ timestamps: false });
  const k = openConn(rig, { ws: 4 }, 100);
  const t = rig.tcp.t;
  assert.equal(t.sndWnd[k.c], 100);
  rig.exchange(fromPeer(k, { win: 1000 }));
  assert.equal(t.sndWnd[k.c], 16_000);
  // RFC 9293: SND.WL1 newer than this segment's sequence, so its window is stale.
  rig.exchange(fromPeer(k, { seq: k.peerNxt, win: 1000, data: new Uint8Array(10) }));
  assert.equal(t.sndWnd[k.c], 16_000);
  rig.exchange(fromPeer(k, { seq: k.peerNxt - 5, win: 1, data: new Uint8Array(5) }));
  assert.equal(t.sndWnd[k.c], 16_000);
});

test('write() pushes back when the send buffer is full and calls onWritable once space frees', () => {
  const rig = new ScriptRig({ timestamps: false, sndBuf: 4000 });
  const k = openConn(rig, { mss: 1000 }, 2000);
  const data = bytes(6000, 5);
  assert.equal(rig.tcp.write(k.c, data, 0, 6000), 4000);
  assert.equal(rig.tcp.sendSpace(k.c), 0);
  assert.equal(rig.sent().length, 2);
  rig.exchange(fromPeer(k, { ack: k.sndNxt + 2000, win: 2000 }));
  assert.equal(k.app.events.filter((e) => e.startsWith('writable')).length, 1);
  assert.equal(rig.tcp.sendSpace(k.c), 2000);
});
