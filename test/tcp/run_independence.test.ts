/**
 * What keeps one run from tripping over the last one (issue 18 §2, §3): a
 * random timestamp offset per connection (RFC 7323 §5.4), a random start in
 * the source ports per run (RFC 6056 §3.3.3), a SYN that a stale incarnation
 * at the peer refuses moving to another port at once, and connect() spreading
 * connections over every owned address with ports per address.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { BufferPool } from '../../src/core/buffer_pool.js';
import { portShare } from '../../src/net/flow_steer.js';
import { TcpError } from '../../src/net/tcp/api.js';
import { EPHEMERAL_HI, EPHEMERAL_LO, PortPool } from '../../src/net/tcp/port_pool.js';
import { seqGt } from '../../src/net/tcp/seq.js';
import { ESTABLISHED, SYN_SENT, TIME_WAIT } from '../../src/net/tcp/tcb.js';
import { createRingPair } from '../../src/port/ring.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { A_IP, A_MAC, B_IP, B_MAC, Node, Recorder, ScriptPeer, ScriptRig, type Seg, fromPeer, openConn } from './harness.js';

const SA = TCP_SYN | TCP_ACK;

/** The TSval of the SYN of a new connection from A to B:80 on a rig with `tsKey` (a random one: undefined), from `port`. */
function synTs(tsKey: Uint32Array | undefined, port: number): number {
  const rig = new ScriptRig({ tsKey });
  assert.ok(rig.tcp.connect(A_IP, B_IP, 80, new Recorder(), port) >= 0);
  const [syn] = rig.sent();
  return syn.ts![0];
}

test('timestamps: each connection and each run starts at its own offset; on a connection TSval only grows', () => {
  const key = Uint32Array.of(7, 8);
  // Same key (one run), same tuple: the same offset, so a tuple reused within a run has newer timestamps (RFC 6191).
  assert.equal(synTs(key, 20000), synTs(key, 20000));
  // Another tuple, or another run's key: offsets unrelated (far more than the 1 ms clock apart).
  const ts = [synTs(key, 20000), synTs(key, 20001), synTs(key, 20002), synTs(Uint32Array.of(9, 10), 20000), synTs(undefined, 20000), synTs(undefined, 20000)];
  for (let i = 0; i < ts.length; i++) {
    for (let j = i + 1; j < ts.length; j++) assert.ok(Math.abs(ts[i] - ts[j]) > 1000, `offsets ${ts[i]} and ${ts[j]} are unrelated`);
  }
  // Within a connection: every segment's TSval is at least the previous one, and moves with the clock.
  const rig = new ScriptRig({ tsKey: Uint32Array.of(0xffffffff, 0x12345678), delayedAckUs: 1000 });
  const k = openConn(rig, { ts: [500, 0] });
  let last = k.nodeTs;
  let peerTs = 501;
  for (let i = 0; i < 50; i++) {
    rig.clock.advance(7_000);
    assert.equal(rig.tcp.write(k.c, new Uint8Array(10), 0, 10), 10);
    const [d] = rig.sent();
    assert.ok(seqGt(d.ts![0], last) || d.ts![0] === last, `TSval ${d.ts![0]} after ${last}`);
    assert.equal((d.ts![0] - last) >>> 0, 7, 'the clock moved 7 ms');
    last = d.ts![0];
    rig.exchange(fromPeer(k, { seq: k.peerNxt, ack: k.sndNxt + 10 * (i + 1), ts: [peerTs++, last] }));
  }
  assert.equal(rig.tcp.counters.pawsDrops, 0);
});

test('source ports: each run starts each address at its own random port of the range, and walks up from it', () => {
  const starts = (key?: Uint32Array): number[] => {
    const p = new PortPool(EPHEMERAL_LO, EPHEMERAL_HI, key);
    return Array.from({ length: 8 }, (_, i) => p.nextOn(0xc6122d00 + i));
  };
  const a = starts();
  const b = starts();
  assert.notDeepEqual(a, b, 'two runs (random keys) start elsewhere');
  assert.equal(new Set(starts(Uint32Array.of(5, 6))).size, 8, 'addresses start at different ports');
  assert.deepEqual(starts(Uint32Array.of(1, 2)), starts(Uint32Array.of(1, 2)), 'a fixed key repeats');
  // One address: consecutive picks walk the range from its start and wrap, every port once.
  const p = new PortPool(20000, 20100, Uint32Array.of(3, 4));
  const first = p.nextOn(1);
  const seen = new Set([first]);
  for (let i = 1; i < 100; i++) {
    const x = p.nextOn(1);
    assert.equal(x, 20000 + ((first - 20000 + i) % 100));
    seen.add(x);
  }
  assert.equal(seen.size, 100);
  // A worker's share: the start is random inside the share too.
  const share = portShare(1, 3);
  const w = new PortPool(share.lo, share.hi);
  for (let i = 0; i < 1000; i++) {
    const x = w.nextOn(7);
    assert.ok(x >= share.lo && x < share.hi);
  }
});

test('pool pairs: round-robin over every address, ports per address, workers never share a pair', () => {
  const lo = 0xc6122d00;
  const workers = 3;
  const pairs = new Set<string>();
  const perAddr = new Map<number, number>();
  for (let w = 0; w < workers; w++) {
    const s = portShare(w, workers);
    const p = new PortPool(s.lo, s.hi);
    p.setAddresses(Uint32Array.of(lo, lo + 200), Uint32Array.of(lo + 99, lo + 200)); // 100 + 1 addresses
    assert.equal(p.addresses, 101);
    for (let i = 0; i < 101 * 50; i++) {
      p.next();
      if (i < 101) assert.equal(p.srcIp, i < 100 ? lo + i : lo + 200, 'one address after the other, across ranges');
      assert.ok(p.srcPort >= s.lo && p.srcPort < s.hi, 'a port of the worker share');
      const key = `${p.srcIp}:${p.srcPort}`;
      assert.ok(!pairs.has(key), `pair ${key} handed out twice`);
      pairs.add(key);
      perAddr.set(p.srcIp, (perAddr.get(p.srcIp) ?? 0) + 1);
    }
  }
  assert.equal(perAddr.size, 101);
  for (const n of perAddr.values()) assert.equal(n, 50 * workers, 'an even share per address');
});

test('connect(0, ...) spreads connections over every owned address; no two share a 4-tuple', () => {
  const clock = new ManualClock(1_000_000);
  const [pa, pb] = createRingPair({ capacity: 4096 });
  const node = new Node(pa.openQueue(0, new BufferPool(4096)), clock, A_MAC, A_IP, B_IP, B_MAC, { tsKey: Uint32Array.of(1, 1), portKey: Uint32Array.of(2, 2) }, 10);
  const peer = new ScriptPeer(pb.openQueue(0, new BufferPool(4096)), B_MAC, B_IP, A_MAC, A_IP);
  const ids: number[] = [];
  for (let i = 0; i < 500; i++) {
    const c = node.tcp.connect(0, B_IP, 80, new Recorder());
    assert.ok(c >= 0, `connect ${i}: ${c}`);
    ids.push(c);
    if (i % 50 === 49) node.poll();
  }
  node.poll();
  const syns = peer.recv();
  assert.equal(syns.length, 500);
  const t = node.tcp.t;
  const tuples = new Set(ids.map((c) => `${t.localIp[c]}:${t.localPort[c]}`));
  assert.equal(tuples.size, 500);
  const per = new Map<number, number>();
  for (const c of ids) per.set(t.localIp[c], (per.get(t.localIp[c]) ?? 0) + 1);
  assert.deepEqual([...per.keys()].sort(), Array.from({ length: 10 }, (_, i) => A_IP + i));
  for (const n of per.values()) assert.equal(n, 50);
  assert.equal(node.tcp.connect(0, B_IP, 80, new Recorder(), 1234), TcpError.INVALID, 'a port needs an address');
});

test('a SYN that the peer\'s TIME_WAIT answers with a bare ACK moves to another port at once: no RTO', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  // The peer's old incarnation acknowledges what it last received, not our SYN (RFC 7323 §5.3 R1).
  const tw: Seg = { sport: 80, dport: syn.sport, seq: 5000, ack: syn.seq - 1000, flags: TCP_ACK, win: 100 };
  const [rst, syn2] = rig.exchange(tw);
  assert.equal(rst.flags, TCP_RST, 'RFC 9293 §3.10.7.3: the unacceptable ACK is reset');
  assert.equal(rst.sport, syn.sport);
  assert.equal(syn2.flags, TCP_SYN);
  assert.notEqual(syn2.sport, syn.sport);
  assert.equal(rig.tcp.state(c), SYN_SENT);
  assert.equal(rig.tcp.counters.synMoves, 1);
  // The new tuple completes the open; the old one is no longer ours.
  const [ack] = rig.exchange({ sport: 80, dport: syn2.sport, seq: 9000, ack: syn2.seq + 1, flags: SA, win: 65535 });
  assert.equal(ack.flags, TCP_ACK);
  assert.equal(rig.tcp.state(c), ESTABLISHED);
  assert.equal(rig.tcp.t.lookup(A_IP, syn.sport, B_IP, 80), -1);
  assert.deepEqual(app.events, [`connected ${c}`]);
  assert.equal(rig.tcp.counters.rtoFires, 0);
  // A peer that answers every SYN so moves it a bounded number of times; then the RTO takes over.
  const c2 = rig.tcp.connect(A_IP, B_IP, 80, new Recorder());
  let [s] = rig.sent();
  let moves = 0;
  for (;;) {
    const out = rig.exchange({ ...tw, dport: s.sport, ack: s.seq - 1000 });
    if (out.length === 1) break;
    s = out[1];
    moves++;
  }
  assert.equal(moves, 4);
  assert.equal(rig.tcp.state(c2), SYN_SENT);
});

test('every pair taken towards a destination: the oldest TIME_WAIT of ours gives up its pair; another destination needs none', () => {
  const rig = new ScriptRig({ ephemeralPorts: { lo: 20000, hi: 20004 }, timeWaitUs: 60_000_000 });
  const ports: number[] = [];
  for (let i = 0; i < 4; i++) {
    const k = openConn(rig);
    ports.push(k.port);
    rig.tcp.close(k.c);
    rig.sent();
    rig.exchange(fromPeer(k, { ack: k.sndNxt + 1, flags: TCP_ACK | 0x01 }));
    assert.equal(rig.tcp.state(k.c), TIME_WAIT);
  }
  assert.deepEqual([...ports].sort(), [20000, 20001, 20002, 20003]);
  assert.ok(rig.tcp.connect(A_IP, B_IP, 80, new Recorder()) >= 0);
  const [syn] = rig.sent();
  assert.equal(syn.sport, ports[0], 'the oldest TIME_WAIT\'s port');
  assert.equal(rig.tcp.counters.twRecycled, 1);
  assert.ok(rig.tcp.connect(A_IP, B_IP, 81, new Recorder()) >= 0);
  assert.equal(rig.tcp.counters.twRecycled, 1, 'a port in TIME_WAIT towards :80 is free towards :81');
  assert.equal(rig.tcp.counters.portExhausted, 0);
});

test('connect() to a destination without a route is refused at once', () => {
  const rig = new ScriptRig();
  assert.equal(rig.tcp.connect(A_IP, 0x0a000001, 80, new Recorder()), TcpError.NO_ROUTE);
  assert.equal(rig.tcp.counters.noRoute, 1);
  assert.deepEqual(rig.sent(), []);
});
