import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NewReno } from '../../src/net/tcp/reno.js';
import { TcbStore } from '../../src/net/tcp/tcb.js';

test('congestion avoidance grows cwnd by one SMSS per cwnd of bytes acknowledged, whatever the ACK ratio (RFC 3465)', () => {
  for (const perAck of [1000, 2000, 3000]) {
    const t = new TcbStore(1);
    const cc = new NewReno(t, { nowUs: 0 });
    t.sndMss[0] = 1000;
    cc.init(0);
    t.cwnd[0] = 10_000;
    t.ssthresh[0] = 5000;
    // A full window in flight (the application keeps it busy).
    t.sndUna[0] = 0;
    t.sndMax[0] = 10_000;
    let acked = 0;
    while (acked + perAck <= 9000) {
      cc.onAck(0, perAck, 0, -1);
      acked += perAck;
    }
    assert.equal(t.cwnd[0], 10_000, `${perAck} bytes per ACK, ${acked} acked`);
    for (let i = 0; acked < 12_000; i++) {
      cc.onAck(0, perAck, 0, -1);
      acked += perAck;
    }
    assert.equal(t.cwnd[0], 11_000, `${perAck} bytes per ACK`);
  }
});
