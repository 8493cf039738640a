import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason } from '../../src/net/tcp/api.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { ScriptRig, fromPeer, openConn } from './harness.js';

test('keepalive: probes <SEQ=SND.UNA-1> after the idle time, an answer resets the count, silence aborts', () => {
  const rig = new ScriptRig({ keepaliveUs: 10_000_000, keepaliveIntervalUs: 1_000_000, keepaliveProbes: 3 });
  const k = openConn(rig);
  assert.deepEqual(rig.advance(9_900_000), []);
  const [p1] = rig.advance(200_000);
  assert.equal(p1.flags, TCP_ACK);
  assert.equal(p1.seq, k.sndNxt - 1);
  assert.equal(p1.data, undefined);
  // The peer answers: idle again from now.
  rig.exchange(fromPeer(k, {}));
  assert.deepEqual(rig.advance(9_800_000), []);
  assert.equal(rig.advance(300_000).length, 1);
  // Silence: two more probes a second apart, then the connection is given up.
  assert.equal(rig.advance(1_000_000).length, 1);
  assert.equal(rig.advance(1_000_000).length, 1);
  rig.advance(1_000_000);
  assert.equal(k.app.closed.get(k.c), CloseReason.TIMEOUT);
  assert.equal(rig.tcp.counters.keepaliveProbes, 4);
  assert.equal(rig.tcp.counters.keepaliveAborts, 1);
});
