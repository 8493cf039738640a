/**
 * Next hops and the first SYNs (issue 18 §2): a burst of connections toward
 * a neighbour ARP has not resolved waits whole in ARP's queue and leaves when
 * the reply comes; a hop that does not answer fails the connections as
 * unreachable instead of leaving them to retransmit; the client load sends
 * its first SYN only once the hop resolved.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fail } from '../../src/app/http11/failures.js';
import { ClientMode } from '../../src/engine/modes.js';
import { HOP_FAILED, HOP_NO_ROUTE, HOP_PENDING, HOP_READY } from '../../src/net/l4.js';
import { CloseReason, TcpError, type TcpHandler } from '../../src/net/tcp/api.js';
import { SYN_SENT } from '../../src/net/tcp/tcb.js';
import { TcpLayer } from '../../src/net/tcp/tcp_layer.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, newArpRepr, parseArp } from '../../src/wire/arp.js';
import { ETH_TYPE_ARP, ETH_TYPE_IPV4 } from '../../src/wire/ethernet.js';
import { IPV4_PROTO_TCP } from '../../src/wire/ipv4.js';
import { Harness, PEER_MAC, STACK_MAC, arpFrame, dvOf, ip, parseEth } from './harness.js';

const GW = ip('198.18.0.1');

function tcpOn(h: Harness): TcpLayer {
  const tcp = new TcpLayer(h.stack, { maxConns: 256 });
  h.stack.registerL4(IPV4_PROTO_TCP, tcp);
  return tcp;
}

class Closes implements TcpHandler {
  readonly reasons: number[] = [];
  connected = 0;
  onConnected(): void {
    this.connected++;
  }
  onData(): void {}
  onWritable(): void {}
  onPeerClosed(): void {}
  onClosed(_c: number, reason: number): void {
    this.reasons.push(reason);
  }
}

/** The frames the stack sent, split into ARP requests (their target) and IPv4 frames (their destination MAC). */
function split(frames: Uint8Array[]): { arpTargets: number[]; ipv4Macs: number[] } {
  const arpTargets: number[] = [];
  const ipv4Macs: number[] = [];
  for (const f of frames) {
    const e = parseEth(f);
    if (e.ethertype === ETH_TYPE_ARP) {
      const a = newArpRepr();
      assert.equal(parseArp(dvOf(f), e.hdrLen, f.length - e.hdrLen, a), 0);
      assert.equal(a.op, ARP_OP_REQUEST);
      arpTargets.push(a.tpa >>> 0);
    } else if (e.ethertype === ETH_TYPE_IPV4) {
      ipv4Macs.push(e.dst);
    }
  }
  return { arpTargets, ipv4Macs };
}

function reply(from: number, to: number): Uint8Array {
  const a = newArpRepr();
  a.op = ARP_OP_REPLY;
  a.sha = PEER_MAC;
  a.spa = from;
  a.tha = STACK_MAC;
  a.tpa = to;
  return arpFrame(a, STACK_MAC);
}

test('64 connections opened at once toward an unresolved neighbour: one ARP request, no SYN dropped, all 64 sent on the reply', () => {
  const h = new Harness();
  const tcp = tcpOn(h);
  const app = new Closes();
  for (let i = 0; i < 64; i++) assert.ok(tcp.connect(0, GW, 80, app) >= 0);
  h.stack.flush();
  const before = split(h.received());
  assert.deepEqual(before.arpTargets, [GW]);
  assert.equal(before.ipv4Macs.length, 0, 'the SYNs wait for the MAC');
  assert.equal(h.stack.counters.arpQueued, 64);
  assert.equal(h.stack.counters.arpQueueDrops, 0);
  h.send(reply(GW, ip('198.18.0.10')));
  const after = split(h.received());
  assert.equal(after.ipv4Macs.length, 64);
  assert.ok(after.ipv4Macs.every((m) => m === PEER_MAC));
  assert.equal(tcp.counters.segsOut, 64);
  assert.equal(tcp.counters.rtoFires, 0);
  assert.deepEqual(app.reasons, []);
});

test('a next hop that never answers: queued connections fail as unreachable, new ones are refused during the hold-off', () => {
  const h = new Harness();
  const tcp = tcpOn(h);
  const app = new Closes();
  for (let i = 0; i < 8; i++) assert.ok(tcp.connect(0, GW, 80, app) >= 0);
  assert.equal(h.stack.nextHop(GW), HOP_PENDING);
  // ARP asks three times a second apart (maxTries), then gives up.
  for (let ms = 0; ms < 3_100; ms += 10) {
    h.clock.advance(10_000);
    h.pump();
  }
  assert.equal(split(h.received()).arpTargets.length, 3);
  assert.equal(h.stack.counters.arpResolveFailed, 1);
  assert.deepEqual(app.reasons, new Array(8).fill(CloseReason.UNREACHABLE));
  assert.equal(h.stack.nextHop(GW), HOP_FAILED);
  assert.equal(tcp.connect(0, GW, 80, app), TcpError.UNREACHABLE);
  assert.equal(tcp.counters.hopUnreachable, 1);
  assert.equal(h.stack.nextHop(ip('10.1.2.3')), HOP_NO_ROUTE);
  assert.equal(h.stack.pool.available, h.stack.pool.count, 'no slot left behind');
});

/** A client load of `n` connections toward GW on the harness's TCP. */
function clientOn(h: Harness, tcp: TcpLayer, n: number): ClientMode {
  return new ClientMode({
    transport: tcp,
    clock: h.clock,
    srcIp: 0,
    dstIp: GW,
    dstPort: 80,
    host: '198.18.0.1',
    path: '/',
    method: 'GET',
    bodyFile: null,
    connections: n,
    requests: n,
    perConn: 1,
    pipeline: 1,
    rate: 0,
    saveBody: null,
    sha256: false,
    expectSha256: null,
    tls: null,
    durationUs: 0,
    drainUs: 2e6,
    connectTimeoutS: 5,
    responseTimeoutS: 30,
    maxResponseTimeS: 0,
    allowErrors: 0,
    open: null,
    maxConns: 256,
  });
}

test('the client load sends its first SYN only once ARP resolved the next hop', () => {
  const h = new Harness();
  const tcp = tcpOn(h);
  const mode = clientOn(h, tcp, 16);
  h.stack.flush();
  assert.deepEqual(split(h.received()).arpTargets, [GW], 'ARP asks before any SYN');
  assert.equal(tcp.counters.activeOpens, 0);
  mode.tick(h.clock.nowUs());
  assert.equal(tcp.counters.activeOpens, 0, 'still waiting');
  h.send(reply(GW, ip('198.18.0.10')));
  assert.equal(h.stack.nextHop(GW), HOP_READY);
  mode.tick(h.clock.nowUs());
  h.stack.flush();
  const out = split(h.received());
  assert.equal(out.ipv4Macs.length, 16, 'every SYN goes out at once');
  assert.equal(h.stack.counters.arpQueued, 0, 'none waited in ARP');
  const from = new Set<number>();
  for (let c = 0; c < tcp.t.max; c++) if (tcp.t.state[c] === SYN_SENT) from.add(tcp.t.localIp[c]);
  assert.equal(from.size, 3, 'from each of the 3 owned addresses');
});

test('a client load whose next hop never answers ends after ARP\'s retries: its connect is refused as unreachable, no SYN sent', () => {
  const h = new Harness();
  const tcp = tcpOn(h);
  const mode = clientOn(h, tcp, 16);
  let ms = 0;
  for (; ms < 10_000 && !mode.finished(); ms++) {
    h.clock.advance(1000);
    h.pump();
    mode.tick(h.clock.nowUs());
  }
  assert.ok(mode.finished(), 'the load ended');
  assert.ok(ms >= 3000 && ms < 3100, `after ARP's three requests a second apart (${ms} ms)`);
  const sent = split(h.received());
  assert.equal(sent.arpTargets.length, 3);
  assert.equal(sent.ipv4Macs.length, 0);
  assert.equal(tcp.counters.activeOpens, 0);
  // Each connection slot tries once and fails as unreachable; then the load, bounded by its request count, stops opening.
  assert.equal(tcp.counters.hopUnreachable, 16, 'every slot\'s connect is refused once');
  assert.equal(mode.load.snapshot().connectFailures, 16);
  assert.equal(mode.load.snapshot().failures[Fail.UNREACHABLE], 16, 'counted as unreachable');
});
