/**
 * RFC 7323 §5.4: our TSval is monotone on a connection whatever time an event
 * runs at. A poll loop reads the clock once per burst, while an API call from
 * outside a callback reads it live, so input() can run at a time older than
 * the last write(); the peer would drop the older TSval by PAWS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seqGeq } from '../../src/net/tcp/seq.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { ScriptRig, type Seg, fromPeer, openConn } from './harness.js';

test('TSval never goes below the last one sent when input() and tick() run at a burst time older than a write()', () => {
  const rig = new ScriptRig({ delayedAckUs: 40_000 });
  const k = openConn(rig, { ts: [100, 0] });
  const burstUs = rig.clock.nowUs();
  rig.clock.advance(1500); // past the next millisecond of the timestamp clock
  assert.equal(rig.tcp.write(k.c, new Uint8Array(100), 0, 100), 100);
  rig.node.stack.flush();
  const [w] = rig.peer.recv();
  assert.equal(w.data?.length, 100);
  assert.ok(w.ts !== undefined && w.ts[0] > k.nodeTs, 'the write runs at the live clock');
  // Two segments read in a burst that started before the write: the second is ACKed at once.
  const seg = (off: number): Seg => fromPeer(k, { seq: k.peerNxt + off, ack: k.sndNxt + 100, ts: [101, w.ts![0]], data: new Uint8Array(50) });
  rig.peer.send(seg(0));
  rig.peer.send(seg(50));
  rig.node.poll(burstUs);
  const acks = rig.peer.recv();
  assert.equal(acks.length, 1);
  assert.equal(acks[0].flags, TCP_ACK);
  assert.equal(acks[0].ack, k.peerNxt + 100);
  assert.ok(seqGeq(acks[0].ts![0], w.ts![0]), `TSval ${acks[0].ts![0]} went below ${w.ts![0]}`);
});
