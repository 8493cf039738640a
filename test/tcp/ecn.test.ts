/**
 * ECN (RFC 3168 §6.1), scripted per rule: the setup on SYN and SYN-ACK in
 * each mode, ECT(0) on new data only, ECE echoed from a CE mark until CWR,
 * and the sender's one reduction per window with CWR on its next new data.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TcpOptions } from '../../src/net/tcp/api.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_SYN } from '../../src/wire/tcp.js';
import { A_IP, B_IP, Recorder, ScriptRig, bytes, fromPeer, type Conn } from './harness.js';

const SA = TCP_SYN | TCP_ACK;
const ECT0 = 2;
const CE = 3;

/** An active open in `ecn` mode, the peer answering with `synAckFlags`; its SYN's flags too. */
function open(ecn: TcpOptions['ecn'], synAckFlags: number): { rig: ScriptRig; k: Conn; synFlags: number } {
  const rig = new ScriptRig({ timestamps: false, cc: 'newreno', ecn });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  rig.advance(10_000);
  rig.exchange({ sport: 80, dport: syn.sport, seq: 7000, ack: syn.seq + 1, flags: synAckFlags, win: 65535, mss: 1000, sackOk: true });
  return { rig, k: { rig, app, c, port: syn.sport, sndNxt: syn.seq + 1, peerNxt: 7001, nodeTs: 0 }, synFlags: syn.flags };
}

test('setup (§6.1.1): on asks with ECE and CWR and agrees to a SYN-ACK with ECE alone; passive and off do not ask', () => {
  const on = open('on', SA | TCP_ECE);
  assert.equal(on.synFlags, TCP_SYN | TCP_ECE | TCP_CWR);
  assert.equal(on.rig.tcp.t.ecn[on.k.c] & 1, 1, 'negotiated');
  // A SYN-ACK with both flags set is not an agreement (a reflector of our flags).
  const both = open('on', SA | TCP_ECE | TCP_CWR);
  assert.equal(both.rig.tcp.t.ecn[both.k.c] & 1, 0);
  for (const mode of ['passive', 'off'] as const) {
    const o = open(mode, SA | TCP_ECE);
    assert.equal(o.synFlags, TCP_SYN, mode);
    assert.equal(o.rig.tcp.t.ecn[o.k.c] & 1, 0, mode);
  }
});

test('setup (§6.1.1), passive open: passive and on agree to an ECN-setup SYN with a SYN-ACK carrying ECE; off does not', () => {
  for (const [mode, agrees] of [['passive', true], ['on', true], ['off', false]] as const) {
    const rig = new ScriptRig({ timestamps: false, ecn: mode });
    rig.tcp.listen(A_IP, 80, new Recorder());
    const [synAck] = rig.exchange({ sport: 4000, dport: 80, seq: 100, ack: 0, flags: TCP_SYN | TCP_ECE | TCP_CWR, win: 65535, mss: 1000 });
    assert.equal(synAck.flags, agrees ? SA | TCP_ECE : SA, mode);
    assert.equal(synAck.tos, 0, 'a SYN-ACK is not ECN-capable');
  }
});

test('ECT(0) marks new data only (§6.1.5): not pure ACKs, not retransmissions', () => {
  const { rig, k } = open('on', SA | TCP_ECE);
  rig.tcp.write(k.c, bytes(3000, 3), 0, 3000);
  const data = rig.sent();
  assert.equal(data.length, 3);
  assert.ok(data.every((s) => s.tos === ECT0), JSON.stringify(data.map((s) => s.tos)));
  // The RTO resends the first segment: not marked.
  const again = rig.advance(1_500_000).filter((s) => (s.data?.length ?? 0) > 0);
  assert.ok(again.length >= 1);
  assert.equal(again[0].tos, 0, 'a retransmission is not ECT');
  // A pure ACK of the peer's data: not marked.
  const acks = rig.exchange(fromPeer(k, { ack: k.sndNxt + 3000, data: bytes(10, 4) }));
  rig.advance(50_000);
  assert.ok(acks.concat(rig.sent()).every((s) => (s.data?.length ?? 0) > 0 || s.tos === 0));
  // A connection without ECN marks nothing.
  const plain = open('off', SA);
  plain.rig.tcp.write(plain.k.c, bytes(1000, 5), 0, 1000);
  assert.deepEqual(plain.rig.sent().map((s) => s.tos), [0]);
});

test('receiver (§6.1.3): a CE mark makes every ACK carry ECE until a segment with CWR', () => {
  const { rig, k } = open('on', SA | TCP_ECE);
  let seq = k.peerNxt;
  const send = (n: number, flags: number, tos: number): number => {
    const out = rig.exchange(fromPeer(k, { seq, flags: TCP_ACK | flags, data: bytes(n, seq), tos }));
    seq = (seq + n) >>> 0;
    return out.length > 0 ? out.at(-1)!.flags : (rig.advance(50_000).at(-1)?.flags ?? -1);
  };
  assert.equal(send(500, 0, ECT0) & TCP_ECE, 0, 'no congestion: no ECE');
  assert.equal(send(500, 0, CE) & TCP_ECE, TCP_ECE, 'CE: ECE');
  assert.equal(send(500, 0, ECT0) & TCP_ECE, TCP_ECE, 'still ECE until CWR');
  assert.equal(send(500, TCP_CWR, ECT0) & TCP_ECE, 0, 'CWR ends it');
  assert.equal(rig.tcp.counters.ecnCeIn, 1);
});

test('sender (§6.1.2): an ECE halves the window once per window of data, and the next new data carries CWR', () => {
  const { rig, k } = open('on', SA | TCP_ECE);
  const t = rig.tcp.t;
  rig.tcp.write(k.c, bytes(20_000, 6), 0, 20_000);
  const first = rig.sent();
  const before = t.cwnd[k.c];
  assert.equal(first.length, 10, 'IW10');
  // The peer acknowledges the first two segments with ECE: one reduction.
  const out = rig.exchange(fromPeer(k, { ack: k.sndNxt + 2000, flags: TCP_ACK | TCP_ECE }));
  assert.equal(rig.tcp.counters.ecnReductions, 1);
  assert.ok(t.cwnd[k.c] < before, `cwnd ${before} -> ${t.cwnd[k.c]}`);
  assert.equal(t.ssthresh[k.c], t.cwnd[k.c]);
  const sentData = (segs: { data?: Uint8Array; flags: number }[]): { flags: number }[] => segs.filter((s) => (s.data?.length ?? 0) > 0);
  const cwr: { flags: number }[] = sentData(out);
  // More ECEs within the same window: no further reduction.
  const cwnd = t.cwnd[k.c];
  cwr.push(...sentData(rig.exchange(fromPeer(k, { ack: k.sndNxt + 4000, flags: TCP_ACK | TCP_ECE }))));
  assert.equal(rig.tcp.counters.ecnReductions, 1);
  assert.ok(t.cwnd[k.c] >= cwnd);
  // The rest of the window acknowledged: new data leaves, the first of it with CWR, once.
  cwr.push(...sentData(rig.exchange(fromPeer(k, { ack: k.sndNxt + 10_000 }))));
  assert.ok(cwr.length > 0, 'new data sent');
  assert.equal(cwr[0].flags & TCP_CWR, TCP_CWR, 'CWR on the first new data after the reduction');
  assert.equal(cwr.filter((s) => (s.flags & TCP_CWR) !== 0).length, 1, 'one CWR');
});
