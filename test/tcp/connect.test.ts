import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseReason, TcpError } from '../../src/net/tcp/api.js';
import { ESTABLISHED, SYN_RECEIVED, SYN_SENT } from '../../src/net/tcp/tcb.js';
import { TCP_ACK, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import { A_IP, B_IP, Recorder, ScriptRig, openConn } from './harness.js';

const SA = TCP_SYN | TCP_ACK;

test('active open: SYN with MSS, SACK-permitted, timestamps and window scale; SYN-ACK completes it', () => {
  const rig = new ScriptRig({ rcvBuf: 256 * 1024, rcvBufMax: 256 * 1024 });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  assert.ok(c >= 0);
  const [syn, ...rest] = rig.sent();
  assert.equal(rest.length, 0);
  assert.equal(syn.flags, TCP_SYN);
  assert.equal(syn.dport, 80);
  assert.ok(syn.sport >= 10000 && syn.sport < 60000);
  assert.equal(syn.mss, 1460);
  assert.equal(syn.ws, 3); // 256 KiB >> 3 fits 16 bits (no autotuning: the window's ceiling is the window)
  assert.equal(syn.sackOk, true);
  assert.ok(syn.ts !== undefined && syn.ts[0] > 0 && syn.ts[1] === 0);
  assert.equal(syn.win, 65535);
  assert.equal(rig.tcp.state(c), SYN_SENT);

  const out = rig.exchange({ sport: 80, dport: syn.sport, seq: 5000, ack: syn.seq + 1, flags: SA, win: 1000, mss: 1400, ws: 2, sackOk: true, ts: [777, syn.ts![0]] });
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, TCP_ACK);
  assert.equal(out[0].seq, syn.seq + 1);
  assert.equal(out[0].ack, 5001);
  assert.deepEqual(out[0].ts?.[1], 777);
  assert.equal(out[0].win, (256 * 1024) >> 3);
  assert.equal(rig.tcp.state(c), ESTABLISHED);
  assert.deepEqual(app.events, [`connected ${c}`]);
  // MSS 1400 less 12 bytes of timestamps per segment.
  assert.equal(rig.tcp.t.sndWnd[c], 1000); // RFC 7323 §2.2: the SYN-ACK window is unscaled
  assert.equal(rig.tcp.t.sndMss[c], 1388);
});

test('passive open: listener answers a SYN with a SYN-ACK offering only what the SYN offered', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  assert.ok(rig.tcp.listen(0, 8080, app) >= 0);
  const [sa] = rig.exchange({ sport: 40000, dport: 8080, seq: 100, ack: 0, flags: TCP_SYN, win: 8192, mss: 1200 });
  assert.equal(sa.flags, SA);
  assert.equal(sa.ack, 101);
  assert.equal(sa.mss, 1460);
  assert.equal(sa.ws, undefined);
  assert.equal(sa.sackOk, undefined);
  assert.equal(sa.ts, undefined);
  assert.equal(app.events.length, 0);
  const out = rig.exchange({ sport: 40000, dport: 8080, seq: 101, ack: sa.seq + 1, flags: TCP_ACK, win: 8192 });
  assert.equal(out.length, 0);
  assert.equal(app.connected.length, 1);
  const c = app.connected[0];
  assert.equal(rig.tcp.state(c), ESTABLISHED);
  assert.equal(rig.tcp.t.sndMss[c], 1200);
});

test('simultaneous open: SYN crosses SYN, both reach ESTABLISHED through SYN_RECEIVED', () => {
  const rig = new ScriptRig({ timestamps: false });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 5555, app, 4444);
  const [syn] = rig.sent();
  // The peer's own SYN arrives instead of a SYN-ACK.
  const [sa] = rig.exchange({ sport: 5555, dport: 4444, seq: 9000, ack: 0, flags: TCP_SYN, win: 5000, mss: 1460 });
  assert.equal(sa.flags, SA);
  assert.equal(sa.seq, syn.seq); // same ISS
  assert.equal(sa.ack, 9001);
  assert.equal(rig.tcp.state(c), SYN_RECEIVED);
  // The peer's SYN-ACK for our SYN: its SYN is old news, so we answer with an ACK.
  const [a] = rig.exchange({ sport: 5555, dport: 4444, seq: 9000, ack: syn.seq + 1, flags: SA, win: 5000, mss: 1460 });
  assert.equal(a.flags, TCP_ACK);
  assert.equal(a.ack, 9001);
  // Its ACK of our SYN-ACK completes the open.
  assert.deepEqual(rig.exchange({ sport: 5555, dport: 4444, seq: 9001, ack: syn.seq + 1, flags: TCP_ACK, win: 5000 }), []);
  assert.equal(rig.tcp.state(c), ESTABLISHED);
  assert.deepEqual(app.events, [`connected ${c}`]);
});

test('SYN_SENT: RST acknowledging the SYN refuses the connection; an unacceptable ACK draws a RST', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app, 4444);
  const [syn] = rig.sent();
  const [rst, ...more] = rig.exchange({ sport: 80, dport: syn.sport, seq: 1, ack: syn.seq + 77, flags: SA, win: 100 });
  assert.equal(rst.flags, TCP_RST);
  assert.equal(rst.seq, syn.seq + 77);
  assert.deepEqual(more, [], 'a bound port stays: no SYN on another port');
  assert.equal(rig.tcp.state(c), SYN_SENT);
  // A RST without ACK is ignored; with an acceptable ACK it means "refused".
  assert.deepEqual(rig.exchange({ sport: 80, dport: syn.sport, seq: 0, ack: 0, flags: TCP_RST, win: 0 }), []);
  assert.equal(rig.tcp.state(c), SYN_SENT);
  rig.exchange({ sport: 80, dport: syn.sport, seq: 0, ack: syn.seq + 1, flags: TCP_RST | TCP_ACK, win: 0 });
  assert.equal(app.closed.get(c), CloseReason.REFUSED);
  assert.equal(rig.tcp.counters.connRefused, 1);
});

test('SYN is retransmitted with exponential backoff, then the connection times out', () => {
  const rig = new ScriptRig({ synRetries: 3, rtoInitialUs: 1_000_000 });
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  const times: number[] = [];
  const start = rig.clock.nowUs();
  for (let i = 0; i < 16 && !app.closed.has(c); i++) {
    const out = rig.advance(1_000_000);
    for (const s of out) {
      assert.equal(s.flags, TCP_SYN);
      assert.equal(s.seq, syn.seq);
      times.push(Math.round((rig.clock.nowUs() - start) / 1e6));
    }
  }
  assert.deepEqual(times, [1, 3, 7]); // 1 s, then 2 s, then 4 s later
  assert.equal(app.closed.get(c), CloseReason.TIMEOUT);
  assert.equal(rig.clock.nowUs() - start, 15_000_000); // the last wait is 8 s
  assert.equal(rig.tcp.counters.retryLimitAborts, 1);
});

test('segments for no connection get RSTs shaped by RFC 9293; a listener drops SYNs beyond its backlog', () => {
  const rig = new ScriptRig();
  const [r1] = rig.exchange({ sport: 1, dport: 9, seq: 1000, ack: 0, flags: TCP_SYN, win: 100 });
  assert.equal(r1.flags, TCP_RST | TCP_ACK);
  assert.equal(r1.seq, 0);
  assert.equal(r1.ack, 1001);
  const [r2] = rig.exchange({ sport: 1, dport: 9, seq: 1000, ack: 4242, flags: TCP_ACK, win: 100, data: new Uint8Array(5) });
  assert.equal(r2.flags, TCP_RST);
  assert.equal(r2.seq, 4242);
  assert.deepEqual(rig.exchange({ sport: 1, dport: 9, seq: 1000, ack: 4242, flags: TCP_RST, win: 0 }), []);

  const app = new Recorder();
  rig.tcp.listen(0, 7000, app, 2);
  assert.equal(rig.exchange({ sport: 2001, dport: 7000, seq: 1, ack: 0, flags: TCP_SYN, win: 100 }).length, 1);
  assert.equal(rig.exchange({ sport: 2002, dport: 7000, seq: 1, ack: 0, flags: TCP_SYN, win: 100 }).length, 1);
  assert.equal(rig.exchange({ sport: 2003, dport: 7000, seq: 1, ack: 0, flags: TCP_SYN, win: 100 }).length, 0);
  assert.equal(rig.tcp.counters.synDropped, 1);
  assert.equal(rig.tcp.listen(0, 7000, app), TcpError.ADDR_IN_USE);
  assert.equal(rig.tcp.connect(B_IP, A_IP, 80, app), TcpError.NOT_LOCAL);
});

test('ICMP unreachable aborts a connection in SYN_SENT and is a soft error once established', () => {
  const rig = new ScriptRig();
  const app = new Recorder();
  const c = rig.tcp.connect(A_IP, B_IP, 80, app);
  const [syn] = rig.sent();
  rig.tcp.icmpError(0x0303, A_IP, B_IP, 6, syn.sport, 80);
  assert.equal(app.closed.get(c), CloseReason.UNREACHABLE);
  const k = openConn(rig);
  rig.tcp.icmpError(0x0301, A_IP, B_IP, 6, k.port, 80);
  assert.equal(rig.tcp.state(k.c), ESTABLISHED);
  assert.equal(rig.tcp.counters.icmpSoftErrors, 1);
});
